import { createRequire } from 'node:module';
import type { HierarchicalNSW as HnswType } from 'hnswlib-node';
import type { Metric } from '../../format/identity.js';
import { exactTopK } from '../exact-search.js';
import { LabelSet } from './label-set.js';
import type { IndexSearchOptions, Neighbor, PersistentIndex } from './vector-index.js';

const require = createRequire(import.meta.url);
/** hnswlib-node, loaded when a graph is first made or read: a reader searching mapped graphs never needs it. */
let hnswlib: typeof import('hnswlib-node') | undefined;
function newGraph(metric: Metric, dimension: number): HnswType {
  hnswlib ??= require('hnswlib-node') as typeof import('hnswlib-node');
  return new hnswlib.HierarchicalNSW(metric, dimension);
}

/** A graph read from a file, not yet wrapped in an index. */
export type HnswGraph = HnswType;

export interface HnswParams {
  M: number;
  efConstruction: number;
}

const INITIAL_CAPACITY = 1024;
/** hnswlib draws node levels from this seed: a fixed seed makes replayed graphs identical. */
const RANDOM_SEED = 100;
export const DEFAULT_EF_SEARCH = 64;
/** Graph insertion runs in slices of about this long, between which the event loop runs. */
const SLICE_MS = 8;
/** Past this many queued vectors, writes wait for the queue to drain (backpressure, see Database.mutate). */
export const MAX_QUEUED = 4096;

/**
 * hnswlib-node's HNSW graph. Inserting into it is synchronous and slow (about a millisecond per
 * vector at 100k), so add() only queues: a background task inserts queued vectors in slices of
 * SLICE_MS, yielding to the event loop between them, and search() finds queued vectors by an
 * exact scan merged with the graph's answer. A record is searchable as soon as it is applied.
 * Labels of erased records are marked deleted; a new label takes over a deleted slot
 * (allowReplaceDeleted), so the graph does not grow under churn.
 *
 * Marking is deferred too: remove() only drops the label from the live set and notes it, so an
 * eraseWhere of 10,000 records makes no native call. The marks are made, all of them, before
 * the graph next answers a search or takes an insertion (and in the background, like
 * insertions): the graph never returns an erased label, and slot reuse sees every deletion.
 */
export class HnswIndex implements PersistentIndex {
  readonly type = 'hnsw' as const;
  private readonly labels: LabelSet;
  private deleted: number;
  /** Vectors applied but not yet in the graph, in arrival order. */
  private readonly pending = new Map<number, Float32Array>();
  /** Pending labels whose older vector is still in the graph: its graph hits are stale. */
  private readonly stale = new Set<number>();
  /** Labels removed from `labels` whose graph node is not yet marked deleted, in removal order. */
  private unmarked: number[] = [];
  private draining: Promise<void> | null = null;
  /** Vectors inserted into this graph object (0 right after loading a saved graph). */
  insertions = 0;
  /** The ef last given to the graph, and its capacity (both kept here to spare native calls per query). */
  private ef = -1;
  private capacity: number;

  private constructor(
    private readonly graph: HnswType,
    private readonly metric: Metric,
    labels: LabelSet,
  ) {
    this.labels = labels;
    this.deleted = graph.getCurrentCount() - labels.size;
    this.capacity = graph.getMaxElements();
  }

  static create(metric: Metric, dimension: number, params: HnswParams): HnswIndex {
    const graph = newGraph(metric, dimension);
    graph.initIndex({ maxElements: INITIAL_CAPACITY, m: params.M, efConstruction: params.efConstruction, randomSeed: RANDOM_SEED, allowReplaceDeleted: true });
    return new HnswIndex(graph, metric, new LabelSet());
  }

  /** Reads a saved graph (in the thread pool: hnswlib-node's readIndex is asynchronous). */
  static async read(path: string, metric: Metric, dimension: number): Promise<HnswGraph> {
    const graph = newGraph(metric, dimension);
    await graph.readIndex(path, true);
    return graph;
  }

  /** An index over a graph from read(). `liveLabels` (kept, not copied) are the labels of the records the segment holds. */
  static over(graph: HnswGraph, metric: Metric, liveLabels: LabelSet): HnswIndex {
    return new HnswIndex(graph, metric, liveLabels);
  }

  get size(): number {
    return this.labels.size;
  }

  /** Elements in the graph, deleted ones included. */
  get elementCount(): number {
    return this.graph.getCurrentCount();
  }

  /** Vectors waiting for graph insertion. */
  get queued(): number {
    return this.pending.size;
  }

  add(label: number, vector: Float32Array): void {
    if (this.labels.has(label) && !this.pending.has(label)) this.stale.add(label);
    this.pending.delete(label);
    this.pending.set(label, vector);
    this.labels.add(label);
    this.scheduleDrain();
  }

  remove(label: number): void {
    if (!this.labels.delete(label)) return;
    const queued = this.pending.delete(label);
    // Not in the graph yet, and no older version there either: nothing to mark.
    if (queued && !this.stale.delete(label)) return;
    this.unmarked.push(label);
    this.scheduleDrain();
  }

  /** Marks every removed label deleted in the graph (before it is searched or inserted into). */
  private markRemoved(): void {
    if (this.unmarked.length === 0) return;
    const labels = this.unmarked;
    this.unmarked = [];
    let i = 0;
    try {
      for (; i < labels.length; i++) {
        this.graph.markDelete(labels[i]!);
        this.deleted++;
      }
    } finally {
      // Should a native call throw, the labels after it still get their marks next time.
      if (i < labels.length) this.unmarked = labels.slice(i + 1).concat(this.unmarked);
    }
  }

  async search(query: Float32Array, k: number, options: IndexSearchOptions): Promise<Neighbor[]> {
    this.markRemoved();
    const inGraph = this.labels.size - this.pending.size;
    const accept = options.accept;
    let neighbors: Neighbor[] = [];
    if (inGraph > 0) {
      // Stale labels (updated, update still queued) are dropped from the graph's answer: ask for that many more.
      const n = Math.min(k + this.stale.size, this.capacity);
      const ef = Math.max(options.ef ?? DEFAULT_EF_SEARCH, n);
      // setEf is a native call; most queries use the same ef as the last one.
      if (ef !== this.ef) this.graph.setEf((this.ef = ef));
      const point = toArray(query);
      const result = accept ? this.graph.searchKnn(point, n, accept) : this.graph.searchKnn(point, n);
      const stale = this.stale.size > 0 ? this.stale : null;
      for (let i = 0; i < result.neighbors.length && neighbors.length < k; i++) {
        const label = result.neighbors[i]!;
        if (stale === null || !stale.has(label)) neighbors.push({ label, distance: result.distances[i]! });
      }
    }
    if (this.pending.size === 0) return neighbors;
    const queued = [...this.pending].filter(([label]) => !accept || accept(label)).map(([label, vector]) => ({ label, vector }));
    return [...neighbors, ...exactTopK(this.metric, query, queued, k)].sort((a, b) => a.distance - b.distance || a.label - b.label).slice(0, k);
  }

  /** Resolves when every queued vector is in the graph (inserting in slices, yielding between them). */
  async drain(): Promise<void> {
    this.markRemoved();
    while (this.pending.size > 0) {
      this.insertSlice();
      if (this.pending.size > 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async save(path: string): Promise<void> {
    await this.drain();
    // An erase applied while drain() resumed is marked too: a saved graph holds every mark.
    this.markRemoved();
    await this.graph.writeIndex(path);
  }

  private scheduleDrain(): void {
    if (this.draining || (this.pending.size === 0 && this.unmarked.length === 0)) return;
    this.draining = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => {
        this.draining = null;
      });
  }

  /** Inserts queued vectors into the graph for about SLICE_MS. */
  private insertSlice(): void {
    this.markRemoved();
    const until = performance.now() + SLICE_MS;
    for (const [label, vector] of this.pending) {
      this.insertNow(label, vector);
      this.pending.delete(label);
      if (performance.now() >= until) break;
    }
  }

  private insertNow(label: number, vector: Float32Array): void {
    this.insertions++;
    const point = toArray(vector);
    if (this.stale.delete(label)) {
      this.graph.addPoint(point, label, false);
      return;
    }
    if (this.deleted > 0) {
      this.graph.addPoint(point, label, true);
      this.deleted--;
    } else {
      // A graph saved empty reads back with capacity 0, which doubling would keep at 0 (and
      // hnswlib's resize to 0 fails, or worse): grow to at least the initial capacity.
      if (this.graph.getCurrentCount() >= this.capacity) this.graph.resizeIndex((this.capacity = Math.max(INITIAL_CAPACITY, this.capacity * 2)));
      this.graph.addPoint(point, label, false);
    }
  }
}

/** hnswlib-node takes plain arrays; an indexed loop is about ten times faster than Array.from on a Float32Array. */
function toArray(vector: Float32Array): number[] {
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]!;
  return out;
}

/** Bytes of the header hnswlib's saveIndex writes before the level-0 data. */
export const GRAPH_HEADER_BYTES = 96;

/**
 * Checks the header of a saved graph against what this database writes (FORMAT.md "Segment
 * files"): hnswlib sizes its allocations by these fields before it checks anything, so a damaged
 * one could make it allocate without bound or overrun a buffer. With the header sound, hnswlib
 * may read the file while its checksum is computed; nothing searches it before the checksum
 * matches. Returns what is wrong, or null.
 */
export function checkGraphHeader(header: Uint8Array, fileSize: number, dimension: number, M: number): string | null {
  if (header.byteLength < GRAPH_HEADER_BYTES || fileSize < GRAPH_HEADER_BYTES) return 'shorter than its header';
  const view = new DataView(header.buffer, header.byteOffset, GRAPH_HEADER_BYTES);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const linksLevel0 = 2 * M * 4 + 4;
  const perElement = linksLevel0 + dimension * 4 + 8;
  const [offsetLevel0, maxElements, count, sizePerElement, labelOffset, offsetData] = [0, 8, 16, 24, 32, 40].map(u64) as [number, number, number, number, number, number];
  const maxLevel = view.getInt32(48, true);
  const enterPoint = view.getUint32(52, true);
  const [maxM, maxM0, m] = [56, 64, 72].map(u64) as [number, number, number];
  if (offsetLevel0 !== 0 || sizePerElement !== perElement || offsetData !== linksLevel0 || labelOffset !== linksLevel0 + dimension * 4) return 'header does not describe this database\'s vectors';
  if (maxM !== M || maxM0 !== 2 * M || m !== M) return 'header does not match the index parameters';
  if (count > maxElements || maxElements > Math.max(1024, 4 * count) || GRAPH_HEADER_BYTES + count * perElement > fileSize) return 'header element counts are out of bounds';
  if (count > 0 ? maxLevel < 0 || maxLevel > 64 || enterPoint >= count : maxLevel !== -1) return 'header entry point is out of bounds';
  return null;
}
