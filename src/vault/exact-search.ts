import type { Metric } from '../format/identity.js';
import { distance } from './metric.js';
import type { Neighbor } from './index/vector-index.js';

export interface Candidate {
  label: number;
  vector: Float32Array;
}

/** The exact k nearest of `candidates`, nearest first; ties broken by label for determinism. */
export function exactTopK(metric: Metric, query: Float32Array, candidates: Iterable<Candidate>, k: number): Neighbor[] {
  if (k <= 0) return [];
  let queryNorm = 1;
  if (metric === 'cosine') {
    let s = 0;
    for (let i = 0; i < query.length; i++) s += query[i]! * query[i]!;
    queryNorm = Math.sqrt(s);
  }
  // A bounded max-heap on (distance, label): the root is the worst of the k best so far.
  const heap: Neighbor[] = [];
  const worse = (a: Neighbor, b: Neighbor): boolean => a.distance > b.distance || (a.distance === b.distance && a.label > b.label);
  for (const c of candidates) {
    // distance(metric, c, query) with the query's norm precomputed keeps cosine one pass per candidate.
    const d = distance(metric, c.vector, query, queryNorm);
    const item = { label: c.label, distance: d };
    if (heap.length < k) {
      heap.push(item);
      siftUp(heap, heap.length - 1, worse);
    } else if (worse(heap[0]!, item)) {
      heap[0] = item;
      siftDown(heap, 0, worse);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}

function siftUp(heap: Neighbor[], i: number, worse: (a: Neighbor, b: Neighbor) => boolean): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function siftDown(heap: Neighbor[], i: number, worse: (a: Neighbor, b: Neighbor) => boolean): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let top = i;
    if (l < heap.length && worse(heap[l]!, heap[top]!)) top = l;
    if (r < heap.length && worse(heap[r]!, heap[top]!)) top = r;
    if (top === i) return;
    [heap[i], heap[top]] = [heap[top]!, heap[i]!];
    i = top;
  }
}
