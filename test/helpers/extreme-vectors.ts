import { seededRandom } from '../../src/util/random.js';

/** Bits of float32 `x`. */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function fromBits(b: number): number {
  u32[0] = b;
  return f32[0]!;
}

/**
 * Seeded vectors with the extremes a correction must survive: ordinary components, zero
 * components, tiny and huge ones, subnormals, whole rows of subnormals (whose float32 norm is 0,
 * which hnswlib leaves unnormalised), a zero row and rows mixing 1e30 with 1e-30.
 */
export function vectorWithExtremes(dimension: number, i: number): Float32Array {
  const r = seededRandom(i * 7919 + 13);
  const v = new Float32Array(dimension);
  const kind = i % 9;
  for (let j = 0; j < dimension; j++) {
    const x = r() * 2 - 1;
    if (kind === 0) v[j] = x;
    else if (kind === 1) v[j] = j % 3 === 0 ? 0 : x * 1e-20;
    else if (kind === 2) v[j] = x * 1e30;
    else if (kind === 3) v[j] = fromBits(1 + Math.floor(r() * 0x7fffff)) * (x < 0 ? -1 : 1); // subnormal
    else if (kind === 4) v[j] = j === 0 ? 1e30 : x * 1e-30;
    else if (kind === 5) v[j] = j % 2 ? 0 : x;
    else if (kind === 6) v[j] = x * 1e-38;
    else v[j] = x * (j + 1);
  }
  return v;
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

