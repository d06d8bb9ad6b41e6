import { ValidationError } from '../errors.js';

/**
 * Vectors cross every boundary as Float32Array. Encoded vectors are the float32 values,
 * little-endian, packed (FORMAT.md "Conventions").
 */

/** Validates and converts user input to a fresh Float32Array of `dimension` finite values. */
export function toVector(input: unknown, dimension: number, field = 'vector'): Float32Array {
  if (input instanceof Float32Array) {
    // The common case, kept monomorphic: copy, then one pass (x - x is 0 unless x is NaN or infinite).
    if (input.length !== dimension) throw new ValidationError(field, `expected ${dimension} dimensions, got ${input.length}`);
    const copy = input.slice();
    for (let i = 0; i < dimension; i++) {
      const x = copy[i]!;
      if (x - x !== 0) throw new ValidationError(`${field}[${i}]`, `must be a finite number, got ${x}`);
    }
    return copy;
  }
  let length: number;
  if (input instanceof Float32Array || input instanceof Float64Array || Array.isArray(input)) {
    length = input.length;
  } else {
    throw new ValidationError(field, 'must be a Float32Array or an array of numbers');
  }
  if (length !== dimension) {
    throw new ValidationError(field, `expected ${dimension} dimensions, got ${length}`);
  }
  const out = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) {
    const value = (input as ArrayLike<unknown>)[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ValidationError(`${field}[${i}]`, `must be a finite number, got ${String(value)}`);
    }
    out[i] = value;
    if (!Number.isFinite(out[i]!)) {
      throw new ValidationError(`${field}[${i}]`, `${value} overflows float32`);
    }
  }
  return out;
}

/** The little-endian bytes of a vector (a view of its memory, not a copy). */
export function vectorToBytes(vector: Float32Array): Uint8Array {
  return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A fresh Float32Array from little-endian bytes; null when the length is not a whole vector. */
export function vectorFromBytes(bytes: Uint8Array, dimension: number): Float32Array | null {
  if (bytes.byteLength !== dimension * 4) return null;
  const out = new Float32Array(dimension);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function norm(vector: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  return Math.sqrt(sum);
}
