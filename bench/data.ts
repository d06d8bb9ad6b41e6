import { gaussian, seededRandom } from '../src/util/random.js';

/** Seeded clustered vectors: a Gaussian mixture, not uniform noise (uniform data flatters HNSW). */
export function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array[] {
  const r = seededRandom(seed);
  const gauss = gaussian(r);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, gauss));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(r() * clusters)]!;
    return Float32Array.from(c, (x) => x + 0.35 * gauss());
  });
}
