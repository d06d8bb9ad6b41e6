import type { Metric } from '../../format/identity.js';
import { DEFAULT_EF_SEARCH, HnswIndex, type HnswParams } from './hnsw-index.js';
import { LabelSet } from './label-set.js';
import type { IndexSearchOptions, Neighbor, VectorIndex } from './vector-index.js';

/** A saved graph searched where it lies (engine/open maps it; native/qmap.c searches it). */
export interface ReadOnlyGraph {
  /** Elements in the graph, deleted ones included; the most a search may ask for. */
  readonly count: number;
  readonly maxElements: number;
  /** Searching int8 codes, re-ranked by the graph's vectors (FORMAT.md "Graph codes"). */
  readonly quantized?: boolean;
  /** hnswlib's answer for this graph: nearest first, ties by label. */
  search(query: Float32Array, k: number, ef: number, live: Uint8Array | null, allow: Uint8Array | null, accept: ((label: number) => boolean) | null): Neighbor[];
  close(): void;
}

/**
 * A read-only process's HNSW index: the checkpoint's graph, mapped and shared with every other
 * process (never copied, never changed), plus a small private tail for what the log added since.
 *
 * A reader applies the log after the checkpoint, so records still come and go. An erased or
 * updated record's old vector stays in the mapped graph; its label leaves `inGraph`, which the
 * search passes as a bitmap, so the graph walks through that node but never returns it (as
 * hnswlib does with a deleted mark). A new vector goes to the tail, an ordinary in-memory
 * HnswIndex, and the two answers are merged. Without any log records the answer is exactly the
 * graph's: the same as hnswlib-node's readIndex + searchKnn on the same file.
 */
/** The fewest tail vectors that make a mapped index `outgrown`. */
export const TAIL_BOUND = 4096;

export class MappedHnswIndex implements VectorIndex {
  readonly type = 'hnsw' as const;
  /** Labels whose current vector is the mapped graph's. */
  private readonly inGraph: LabelSet;
  /** Whether some label of the graph left `inGraph` (then the search must be told which). */
  private masked = false;
  private tail: HnswIndex | null = null;

  constructor(
    private readonly graph: ReadOnlyGraph,
    private readonly metric: Metric,
    private readonly dimension: number,
    private readonly params: HnswParams,
    /** The labels of the segment's records (kept, not copied). */
    liveLabels: LabelSet,
  ) {
    this.inGraph = liveLabels;
  }

  get size(): number {
    return this.inGraph.size + (this.tail?.size ?? 0);
  }

  get elementCount(): number {
    return this.graph.count + (this.tail?.elementCount ?? 0);
  }

  /** Whether the graph's searches run on its int8 codes. */
  get quantized(): boolean {
    return this.graph.quantized ?? false;
  }

  get queued(): number {
    return this.tail?.queued ?? 0;
  }

  /** Vectors in the private tail, queued ones included: what this process holds that other readers do not share. */
  get tailSize(): number {
    return this.tail ? this.tail.elementCount + (this.tail.queued ?? 0) : 0;
  }

  /**
   * The tail has grown past what a reader should hold privately (an eighth of the graph, and at
   * least TAIL_BOUND vectors): a refresh then loads the newest checkpoint, whose graph has them,
   * rather than following the log on this one (engine/open/reader.ts refreshView).
   */
  get outgrown(): boolean {
    return this.tailSize > Math.max(TAIL_BOUND, this.graph.count / 8);
  }

  add(label: number, vector: Float32Array): void {
    if (this.inGraph.delete(label)) this.masked = true;
    this.tail ??= HnswIndex.create(this.metric, this.dimension, this.params);
    this.tail.add(label, vector);
  }

  remove(label: number): void {
    if (this.inGraph.delete(label)) this.masked = true;
    else this.tail?.remove(label);
  }

  async search(query: Float32Array, k: number, options: IndexSearchOptions): Promise<Neighbor[]> {
    let found: Neighbor[] = [];
    // As HnswIndex.search: hnswlib refuses k above its capacity, and searches at least k wide.
    const n = Math.min(k, this.graph.maxElements);
    if (this.inGraph.size > 0 && n > 0) {
      const ef = Math.max(options.ef ?? DEFAULT_EF_SEARCH, n);
      const live = this.masked ? this.inGraph.bytes : null;
      found = this.graph.search(query, n, ef, live, options.allow ?? null, options.allow ? null : options.accept ?? null);
    }
    if (!this.tail || this.tail.size === 0) return found;
    const fromTail = await this.tail.search(query, k, options);
    return [...found, ...fromTail].sort((a, b) => a.distance - b.distance || a.label - b.label).slice(0, k);
  }

  async drain(): Promise<void> {
    await this.tail?.drain();
  }

  /** Unmaps the graph (the database closed); the file's pages and, if unlinked, its disk space go. */
  close(): void {
    this.graph.close();
  }
}
