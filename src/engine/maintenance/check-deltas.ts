import { CorruptionError } from '../../errors.js';
import { segmentEpoch } from '../../format/constants.js';
import { deltaProblem, type DeltaImage } from '../../segments/delta-file.js';
import type { ManifestVault } from '../../segments/manifest.js';
import { decodeRecords } from '../../segments/records-section.js';

/**
 * `quiver check` of a base segment and its delta segments (FORMAT.md "Delta segments"): which
 * rows of each file are still records once the files are applied in order (a label's last file
 * holds it, unless that file's ERASED lists it), and how many records that leaves.
 */
export function liveRows(baseLabel: (row: number) => number, baseCount: number, deltas: readonly DeltaImage[]): { base: (row: number) => boolean; delta: ((row: number) => boolean)[]; records: number } {
  // Per label named by a delta: the last file naming it, as -2 - k when erased there.
  const last = new Map<number, number>();
  deltas.forEach((delta, k) => {
    for (const label of delta.erased) last.set(label, -2 - k);
    for (const label of delta.labels) last.set(label, k);
  });
  const base = (row: number): boolean => !last.has(baseLabel(row));
  const delta = deltas.map((d, k) => (row: number) => last.get(d.labels[row]!) === k);
  let records = 0;
  for (let row = 0; row < baseCount; row++) if (base(row)) records++;
  for (const value of last.values()) if (value >= 0) records++;
  return { base, delta, records };
}

/**
 * `quiver check` of a vault's deltas as open reads them (engine/open/deltas.ts): each is this
 * vault's, on this base, after the file before; and, applied in order over the base's records
 * (`baseIds`: id by label), every record keeps its id's label and no label changes hands.
 * Throws CorruptionError naming the first delta at fault.
 */
export function checkDeltaChain(entry: ManifestVault, baseLsn: number, baseIds: Map<number, string>, deltas: readonly DeltaImage[], dimension: number): void {
  let lsn = baseLsn;
  const labelOf = new Map<string, number>();
  for (const [label, id] of baseIds) labelOf.set(id, label);
  deltas.forEach((delta, k) => {
    const file = entry.deltas![k]!.path;
    const fail = (why: string): never => {
      throw new CorruptionError(file, why);
    };
    const problem = deltaProblem(delta, entry.number, entry.name, segmentEpoch(entry.segment.path), lsn);
    if (problem) fail(problem);
    lsn = delta.lsn;
    for (const label of delta.erased) {
      const id = baseIds.get(label);
      if (id === undefined) continue;
      baseIds.delete(label);
      labelOf.delete(id);
    }
    for (const record of decodeRecords(delta.records, delta.count, new Float32Array(delta.count * dimension), dimension, false, fail)) {
      const held = labelOf.get(record.id);
      const holder = baseIds.get(record.label);
      if ((held !== undefined && held !== record.label) || (holder !== undefined && holder !== record.id)) fail(`record ${JSON.stringify(record.id)} does not keep its label`);
      labelOf.set(record.id, record.label);
      baseIds.set(record.label, record.id);
    }
  });
}
