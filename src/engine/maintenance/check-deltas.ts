import type { DeltaImage } from '../../segments/delta-file.js';

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
