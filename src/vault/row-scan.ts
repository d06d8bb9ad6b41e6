import type { Metric } from '../format/identity.js';
import { exactTopK } from './exact-search.js';
import type { Neighbor } from './index/vector-index.js';
import type { Candidate } from './exact-search.js';
import type { StoredVectors, VectorRun } from './stored-vectors.js';

export type { VectorRun };

/**
 * An exact scan of some rows of a run (native/scan.c): the k nearest, nearest first, ties by
 * label, with exactly the distances and order exactTopK gives for the same vectors. `labels[i]`
 * is `rows[i]`'s label (null: the row number is the label).
 */
export type RowScanner = (run: VectorRun, dimension: number, rows: Uint32Array, labels: Uint32Array | null, query: Float32Array, k: number, metric: Metric) => Neighbor[];

/** A record as a scan set takes it (record-store.ts StoredRecord). */
type RowRecord = Candidate & { rowIn(block: StoredVectors | null): number };

/**
 * Collects a scan set: `row` adds a row of the block by number, `record` adds a record by its row
 * in `block` when it has one there, else to the tail.
 */
export function scanSetBuilder(block: StoredVectors | null): { row(row: number, label: number): void; record(record: RowRecord): void; done(): ScanSet } {
  const rows: number[] = [];
  const labels: number[] = [];
  const tail: Candidate[] = [];
  const row = (at: number, label: number): void => {
    rows.push(at);
    labels.push(label);
  };
  return {
    row,
    record(record) {
      const at = record.rowIn(block);
      if (at >= 0) row(at, record.label);
      else tail.push(record);
    },
    done: () => ({ rows: Uint32Array.from(rows), labels: Uint32Array.from(labels), tail, packed: null }),
  };
}

let provider: (() => RowScanner | null) | null = null;

/** Set once by the engine (engine/open/load.ts), which may load the native addon; the vault layer may not. */
export function provideRowScanner(p: () => RowScanner | null): void {
  provider = p;
}

/** The native scan when it is built and not turned off (QUIVER_NATIVE=0), else null. */
export function rowScanner(): RowScanner | null {
  return provider ? provider() : null;
}

/**
 * A set of candidates laid out for the native scan: `rows` of the vault's stored vectors (with
 * their labels beside them), and the rest (`tail`: records whose vector is not a row of the block, the
 * writer's records since its last open), either as records or packed into a run of their own.
 */
export interface ScanSet {
  rows: Uint32Array;
  labels: Uint32Array;
  tail: Candidate[];
  /** The tail's vectors copied into one run, in label order, when worth it (packTail). */
  packed: { run: VectorRun; labels: Uint32Array; rows: Uint32Array } | null;
}

/** The bytes a ScanSet holds of its own (its arrays and packed vectors). */
export function scanSetBytes(set: ScanSet, dimension: number): number {
  return set.rows.byteLength + set.labels.byteLength + (set.packed ? set.packed.labels.byteLength * 2 + set.packed.labels.length * dimension * 4 : 0);
}

/** Copies the tail's vectors into one run (label order), so the native scan can read them. */
export function packTail(set: ScanSet, dimension: number): void {
  const tail = [...set.tail].sort((a, b) => a.label - b.label);
  const vectors = new Float32Array(tail.length * dimension);
  const labels = new Uint32Array(tail.length);
  const rows = new Uint32Array(tail.length);
  for (let i = 0; i < tail.length; i++) {
    vectors.set(tail[i]!.vector, i * dimension);
    labels[i] = tail[i]!.label;
    rows[i] = i;
  }
  set.packed = { run: { buffer: vectors.buffer, byteOffset: 0, strideBytes: dimension * 4 }, labels, rows };
  set.tail = [];
}

/** a ranks before b (exact-search.ts: nearer, or as near with the smaller label). */
const before = (a: Neighbor, b: Neighbor): number => (a.distance < b.distance ? -1 : a.distance > b.distance ? 1 : a.label - b.label);

/**
 * The exact k nearest of a ScanSet: the native scan over the rows of `base` (the stored vectors) and the packed tail,
 * exactTopK over an unpacked tail, merged. Each part ranks by the same distances and the same
 * (distance, label) order, so the merge is exactTopK's answer over all of them.
 */
export function scanExact(scan: RowScanner, set: ScanSet, base: VectorRun | null, dimension: number, metric: Metric, query: Float32Array, k: number): Neighbor[] {
  const parts: Neighbor[][] = [];
  if (base && set.rows.length > 0) parts.push(scan(base, dimension, set.rows, set.labels, query, k, metric));
  if (set.packed && set.packed.rows.length > 0) parts.push(scan(set.packed.run, dimension, set.packed.rows, set.packed.labels, query, k, metric));
  if (set.tail.length > 0) parts.push(exactTopK(metric, query, set.tail, k));
  if (parts.length === 1) return parts[0]!;
  return parts.flat().sort(before).slice(0, k);
}
