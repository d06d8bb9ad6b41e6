import { ValidationError } from '../errors.js';
import { decode, encode } from '../format/codec.js';

import type { Payload, PayloadValue } from '../format/payload.js';

export type { Payload, PayloadValue };

const MAX_DEPTH = 32;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Checks any payload value (a trace that is an array or a scalar, say); ValidationError naming `path`. */
export function checkPayloadValue(value: unknown, path: string): void {
  check(value, path, 0);
}

function check(value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new ValidationError(path, `nesting deeper than ${MAX_DEPTH}`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(path, `must be finite, got ${value}`);
    return;
  }
  if (value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      // A hole would come back as something else (undefined or null): refused like undefined.
      if (!(i in value)) throw new ValidationError(`${path}[${i}]`, 'is a hole in a sparse array; write null there');
      check(value[i], `${path}[${i}]`, depth + 1);
    }
    return;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      // The codec reads a "__proto__" key back as "__proto_" (msgpackr's defence against
      // prototype pollution): refused, so nothing is ever stored under another name.
      if (k === '__proto__') throw new ValidationError(`${path}.__proto__`, 'is a key a payload cannot hold; rename it');
      check(v, `${path}.${k}`, depth + 1);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) throw new ValidationError(path, 'has symbol keys, which a payload cannot hold');
    return;
  }
  throw new ValidationError(path, `unsupported value of type ${value === undefined ? 'undefined' : typeof value === 'object' ? value.constructor?.name ?? 'object' : typeof value}`);
}

/**
 * Validates a payload and encodes it. The stored payload is decoded from those bytes, so a
 * caller mutating its object afterwards cannot change what the database holds.
 */
export function validatePayload(payload: unknown, maxBytes: number): { payload: Payload | null; bytes: Uint8Array | null } {
  if (payload === undefined || payload === null) return { payload: null, bytes: null };
  if (typeof payload !== 'object' || Array.isArray(payload) || !isPlainObject(payload)) {
    throw new ValidationError('payload', 'must be a plain object');
  }
  check(payload, 'payload', 0);
  const bytes = encode(payload);
  if (bytes.byteLength > maxBytes) throw new ValidationError('payload', `encodes to ${bytes.byteLength} bytes, over the ${maxBytes}-byte limit`);
  return { payload: decode(bytes) as Payload, bytes };
}

/**
 * A deep copy of a stored payload, so a caller can never change what the database holds.
 * Payloads are validated plain data (objects, arrays, bytes, scalars; no cycles, depth <= 32),
 * so a walk is enough, and it is several times faster than decoding the stored bytes again.
 */
export function clonePayload<T extends PayloadValue>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array<PayloadValue>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = clonePayload(value[i]!);
    return out as T;
  }
  // Buffer's slice() is a view, not a copy; Buffer.from and new Uint8Array copy.
  if (value instanceof Uint8Array) return (Buffer.isBuffer(value) ? Buffer.from(value) : new Uint8Array(value)) as T;
  const out: { [key: string]: PayloadValue } = {};
  for (const key of Object.keys(value)) {
    const copy = clonePayload((value as { [key: string]: PayloadValue })[key]!);
    // Assigning "__proto__" would set the prototype instead (such keys are refused on write).
    if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
    else out[key] = copy;
  }
  return out as T;
}
