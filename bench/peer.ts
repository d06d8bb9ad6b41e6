import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const hnswlib = require('hnswlib-node') as typeof import('hnswlib-node');

/**
 * A Float32Array as the plain array hnswlib-node takes, by an indexed loop: the peer gets the
 * same conversion quiverdb uses (Array.from is about ten times slower), so it stays the ceiling.
 */
export function toArray(vector: Float32Array): number[] {
  const out = new Array<number>(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]!;
  return out;
}

/** Exact top-k by hnswlib's brute-force index (C++), for ground truth. */
export function groundTruth(data: Float32Array[], queries: Float32Array[], k: number, allowed?: (label: number) => boolean): number[][] {
  const dim = data[0]!.length;
  const brute = new hnswlib.BruteforceSearch('cosine', dim);
  brute.initIndex(data.length);
  data.forEach((v, i) => brute.addPoint(toArray(v), i));
  return queries.map((q) => brute.searchKnn(toArray(q), k, allowed).neighbors);
}

export function recall(found: number[][], truth: number[][]): number {
  let hit = 0;
  let total = 0;
  found.forEach((f, i) => {
    const t = new Set(truth[i]);
    total += t.size;
    for (const x of f) if (t.has(x)) hit++;
  });
  return total === 0 ? 1 : hit / total;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
