import { CorruptionError } from '../../errors.js';
import type { VaultImage } from '../../segments/vault-image.js';
import { indexRecord, storeRecord, unstoreLabel } from '../../vault/apply-records.js';
import { RecordChain } from '../../vault/record-chain.js';
import type { RecordColumns } from '../../vault/record-columns.js';
import type { VaultState } from '../../vault/vault-state.js';
import type { StoredRecord } from '../../vault/stored-record.js';
import type { DeltaImage } from '../../segments/delta-file.js';

/** What applyHeld reads of the deltas open has read (deltas.ts Deltas). */
export interface HeldDeltas {
  images: readonly DeltaImage[];
  columns: readonly (RecordColumns | null)[];
}

/** A label's fate in the deltas up to the graph, newest first: not yet named, or erased. */
const UNNAMED = -1;
const ERASED = -2;

/**
 * Applies the deltas at or before the saved graph (`split` of them) to a vault as loaded from its
 * base (FORMAT.md "Delta segments"), making no object per record where it can: the records under
 * labels the base never had join the store as rows of a RecordChain (the newest delta naming a
 * label decides: its record, or gone if it erased it or holds only its vector), and only
 * erasures and replacements of base rows go through the store one by one, in file order. Then the
 * chain's records enter the text and payload indexes. A base whose records are not columns
 * (a segment this code did not write) takes every record one by one, as the log's replay would.
 */
export function applyHeld(vault: VaultState, base: VaultImage, deltas: HeldDeltas, split: number, file: (k: number) => string): void {
  const records = base.records;
  if (Array.isArray(records)) return applyOneByOne(vault, deltas, split, file);
  // Base labels are below the base's next label (or its last row's, were that higher).
  const lowest = Math.max(base.nextLabel, records.length > 0 ? records.label(records.length - 1) + 1 : 0);
  // The span of labels the deltas name above the base's, one slot each: a writer hands labels
  // out in order and every one since the base is in some delta's RECORDS or ERASED, so the span
  // is about their sum; a file naming far more (damaged, but checksummed) goes one by one instead.
  let top = lowest;
  let named = 0;
  for (let k = 0; k < split; k++) {
    const { labels, erased } = deltas.images[k]!;
    if (labels.length > 0) top = Math.max(top, labels[labels.length - 1]! + 1);
    if (erased.length > 0) top = Math.max(top, erased[erased.length - 1]! + 1);
    named += labels.length + erased.length;
  }
  if (top - lowest > 4 * named + 65_536) return applyOneByOne(vault, deltas, split, file);
  const owner = new Int16Array(top - lowest).fill(UNNAMED);
  const ownRow = new Uint32Array(top - lowest);
  for (let k = split - 1; k >= 0; k--) {
    const image = deltas.images[k]!;
    const columns = deltas.columns[k] ?? null;
    // Newest first, and within a file its records before its erasures (it applies them after).
    for (let row = 0; row < image.count; row++) {
      const at = image.labels[row]! - lowest;
      if (at < 0) continue;
      const held = owner[at]!;
      if (held === UNNAMED) {
        owner[at] = columns ? k : ERASED;
        ownRow[at] = row;
      } else if (held >= 0 && columns && deltas.columns[held]!.id(ownRow[at]!) !== columns.id(row)) {
        throw new CorruptionError(file(held), `record ${JSON.stringify(deltas.columns[held]!.id(ownRow[at]!))} takes the label of another`);
      }
    }
    for (const label of image.erased) if (label >= lowest && owner[label - lowest] === UNNAMED) owner[label - lowest] = ERASED;
  }
  const parts: RecordColumns[] = [];
  const partOf = new Map<number, number>();
  deltas.columns.forEach((columns, k) => {
    if (columns && k < split) partOf.set(k, parts.push(columns) - 1);
  });
  let count = 0;
  for (const k of owner) if (k >= 0) count++;
  const tailLabel = new Uint32Array(count);
  const tailPart = new Uint8Array(count);
  const tailRow = new Uint32Array(count);
  for (let at = 0, t = 0; at < owner.length; at++) {
    if (owner[at]! < 0) continue;
    tailLabel[t] = lowest + at;
    tailPart[t] = partOf.get(owner[at]!)!;
    tailRow[t++] = ownRow[at]!;
  }
  // The chain first, while the store is as loaded; then the base rows' changes over it.
  const chain = count > 0 ? new RecordChain(records, parts, tailLabel, tailPart, tailRow) : null;
  if (chain) vault.records.extend(chain, file([...partOf.keys()][0]!));
  // Erasures and replacements of base rows, in the order the files apply them.
  for (let k = 0; k < split; k++) {
    const image = deltas.images[k]!;
    for (const label of image.erased) if (label < lowest) unstoreLabel(vault, label);
    const columns = deltas.columns[k];
    if (!columns) continue;
    for (let row = 0; row < image.count; row++) if (image.labels[row]! < lowest) putDeltaRecord(vault, columns.record(row), file(k));
  }
  // Then the chain's records into the text and payload indexes, after the base rows' erasures
  // (the text index is by id: an id erased from the base may come back in the chain).
  if (!chain || (vault.payloadIndexes.size === 0 && !parts.some((p) => p.hasDocs))) return;
  for (let t = 0; t < count; t++) indexRecord(vault, chain.record(records.length + t), undefined);
}

/**
 * A delta's record put over the record holding its label, which must hold its id (or, if none
 * does, no record put since the load may hold the id; a base row's is checked later, by the store).
 */
export function putDeltaRecord(vault: VaultState, record: StoredRecord, delta: string): StoredRecord | undefined {
  const existing = vault.records.byLabelGet(record.label);
  if (existing ? existing.id !== record.id : vault.records.hasPut(record.id)) throw new CorruptionError(delta, `record ${JSON.stringify(record.id)} does not keep its label`);
  storeRecord(vault, record, existing, delta);
  return existing;
}

/** applyHeld over a base held as records: each delta's erasures, then its records, one by one. */
function applyOneByOne(vault: VaultState, deltas: HeldDeltas, split: number, file: (k: number) => string): void {
  for (let k = 0; k < split; k++) {
    const image = deltas.images[k]!;
    for (const label of image.erased) unstoreLabel(vault, label);
    const columns = deltas.columns[k];
    if (columns) for (let row = 0; row < image.count; row++) putDeltaRecord(vault, columns.record(row), file(k));
  }
}
