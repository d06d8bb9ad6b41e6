import type { Metric } from '../../format/identity.js';
import { exactTopK } from '../exact-search.js';
import type { IndexSearchOptions, Neighbor, VectorIndex } from './vector-index.js';

/** Exact search over every live vector. Nothing to persist: it is rebuilt from the records. */
export class FlatIndex implements VectorIndex {
  readonly type = 'flat' as const;
  private readonly vectors = new Map<number, Float32Array>();

  constructor(private readonly metric: Metric) {}

  get size(): number {
    return this.vectors.size;
  }

  /** A removed vector leaves no slot behind. */
  get elementCount(): number {
    return this.vectors.size;
  }

  add(label: number, vector: Float32Array): void {
    this.vectors.set(label, vector);
  }

  remove(label: number): void {
    this.vectors.delete(label);
  }

  async search(query: Float32Array, k: number, options: IndexSearchOptions): Promise<Neighbor[]> {
    const accept = options.accept;
    const metric = this.metric;
    const vectors = this.vectors;
    function* candidates() {
      for (const [label, vector] of vectors) if (!accept || accept(label)) yield { label, vector };
    }
    return exactTopK(metric, query, candidates(), k);
  }

  async drain(): Promise<void> {}
}
