import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const hnswlib = require('hnswlib-node') as typeof import('hnswlib-node');

/** Exact top-k by hnswlib's brute-force index (C++), for ground truth. */
export function groundTruth(data: Float32Array[], queries: Float32Array[], k: number, allowed?: (label: number) => boolean): number[][] {
  const dim = data[0]!.length;
  const brute = new hnswlib.BruteforceSearch('cosine', dim);
  brute.initIndex(data.length);
  data.forEach((v, i) => brute.addPoint(Array.from(v), i));
  return queries.map((q) => brute.searchKnn(Array.from(q), k, allowed).neighbors);
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
