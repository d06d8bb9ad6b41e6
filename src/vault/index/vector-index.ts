/**
 * A vault's vector index, behind a small interface. Mutations are queued calls that may
 * complete later (`drain()` waits for them); search is async so graph work can move off the
 * main thread without changing callers. Labels are the u32 integers the index knows records by.
 */
export interface Neighbor {
  label: number;
  /** hnswlib's distance for the metric (see metric.ts); lower is nearer. */
  distance: number;
}

export interface IndexSearchOptions {
  ef?: number;
  /** Only labels for which this returns true may be returned. */
  accept?: (label: number) => boolean;
  /**
   * The same set as `accept`, as a bitmap by label (1: may be returned), when the caller has one:
   * the native graph search reads it instead of calling `accept` for every node it visits.
   */
  allow?: Uint8Array;
}

export interface VectorIndex {
  readonly type: 'hnsw' | 'flat';
  /** Number of live (searchable) labels. */
  readonly size: number;
  /** Slots the structure holds, removed ones it keeps for reuse included (`size` when it keeps none). */
  readonly elementCount: number;
  /** Adds `label`, or replaces its vector when it is already present. */
  add(label: number, vector: Float32Array): void;
  remove(label: number): void;
  search(query: Float32Array, k: number, options: IndexSearchOptions): Promise<Neighbor[]>;
  /** Resolves when every queued mutation is reflected in the index. */
  drain(): Promise<void>;
  /** Mutations queued and not yet in the index (0 for indexes that apply at once). */
  readonly queued?: number;
  /** Releases what garbage collection would release late (a mapped file); searching after it throws. */
  close?(): void;
}

/** An index whose structure is worth saving beside the segment (FORMAT.md "Segment files"). */
export interface PersistentIndex extends VectorIndex {
  save(path: string): Promise<void>;
}

export function isPersistent(index: VectorIndex): index is PersistentIndex {
  return typeof (index as Partial<PersistentIndex>).save === 'function';
}
