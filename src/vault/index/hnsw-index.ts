import { createRequire } from 'node:module';
import type { HierarchicalNSW as HnswType } from 'hnswlib-node';
import type { Metric } from '../../format/identity.js';
import type { IndexSearchOptions, Neighbor, PersistentIndex } from './vector-index.js';

const require = createRequire(import.meta.url);
const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');

export interface HnswParams {
  M: number;
  efConstruction: number;
}

const INITIAL_CAPACITY = 1024;
/** hnswlib draws node levels from this seed: a fixed seed makes replayed graphs identical. */
const RANDOM_SEED = 100;
export const DEFAULT_EF_SEARCH = 64;

/**
 * hnswlib-node's HNSW graph. Labels of erased records are marked deleted; a new label takes
 * over a deleted slot (allowReplaceDeleted), so the graph does not grow under churn.
 * hnswlib takes number[] points: vectors are converted at this boundary only.
 */
export class HnswIndex implements PersistentIndex {
  readonly type = 'hnsw' as const;
  private readonly labels: Set<number>;
  private deleted: number;

  private constructor(
    private readonly graph: HnswType,
    labels: Set<number>,
  ) {
    this.labels = labels;
    this.deleted = graph.getCurrentCount() - labels.size;
  }

  static create(metric: Metric, dimension: number, params: HnswParams): HnswIndex {
    const graph = new HierarchicalNSW(metric, dimension);
    graph.initIndex({ maxElements: INITIAL_CAPACITY, m: params.M, efConstruction: params.efConstruction, randomSeed: RANDOM_SEED, allowReplaceDeleted: true });
    return new HnswIndex(graph, new Set());
  }

  /** Loads a saved graph. `liveLabels` are the labels of the records the segment holds. */
  static async load(path: string, metric: Metric, dimension: number, liveLabels: Iterable<number>): Promise<HnswIndex> {
    const graph = new HierarchicalNSW(metric, dimension);
    await graph.readIndex(path, true);
    return new HnswIndex(graph, new Set(liveLabels));
  }

  get size(): number {
    return this.labels.size;
  }

  /** Elements in the graph, deleted ones included. */
  get elementCount(): number {
    return this.graph.getCurrentCount();
  }

  add(label: number, vector: Float32Array): void {
    const point = Array.from(vector);
    if (this.labels.has(label)) {
      this.graph.addPoint(point, label, false);
      return;
    }
    if (this.deleted > 0) {
      this.graph.addPoint(point, label, true);
      this.deleted--;
    } else {
      const max = this.graph.getMaxElements();
      if (this.graph.getCurrentCount() >= max) this.graph.resizeIndex(max * 2);
      this.graph.addPoint(point, label, false);
    }
    this.labels.add(label);
  }

  remove(label: number): void {
    if (!this.labels.delete(label)) return;
    this.graph.markDelete(label);
    this.deleted++;
  }

  async search(query: Float32Array, k: number, options: IndexSearchOptions): Promise<Neighbor[]> {
    const n = Math.min(k, this.labels.size, this.graph.getMaxElements());
    if (n <= 0) return [];
    this.graph.setEf(Math.max(options.ef ?? DEFAULT_EF_SEARCH, n));
    const result = options.accept
      ? this.graph.searchKnn(Array.from(query), n, options.accept)
      : this.graph.searchKnn(Array.from(query), n);
    return result.neighbors.map((label, i) => ({ label, distance: result.distances[i]! }));
  }

  async flush(): Promise<void> {}

  async save(path: string): Promise<void> {
    await this.graph.writeIndex(path);
  }
}
