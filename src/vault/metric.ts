import type { Metric } from '../format/identity.js';

/**
 * Distances follow hnswlib's definitions so exact and graph search rank alike:
 * l2 = squared Euclidean distance, ip = 1 - dot, cosine = 1 - cosine similarity.
 * The score a hit reports: cosine similarity, dot product, or Euclidean distance.
 */
export function distance(metric: Metric, a: Float32Array, b: Float32Array, bNorm?: number): number {
  if (metric === 'l2') {
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - b[i]!;
      sum += d * d;
    }
    return sum;
  }
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  if (metric === 'ip') return 1 - dot;
  let na = 0;
  for (let i = 0; i < a.length; i++) na += a[i]! * a[i]!;
  let nb = bNorm;
  if (nb === undefined) {
    nb = 0;
    for (let i = 0; i < b.length; i++) nb += b[i]! * b[i]!;
    nb = Math.sqrt(nb);
  }
  return 1 - dot / (Math.sqrt(na) * nb);
}

export function scoreFromDistance(metric: Metric, d: number): number {
  if (metric === 'l2') return Math.sqrt(Math.max(0, d));
  return 1 - d;
}
