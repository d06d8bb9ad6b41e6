import { decode } from '../format/codec.js';
import type { LoadedEntry } from '../vault/payload-index.js';
import type { Scalar } from '../vault/filter-terms.js';

/**
 * The PAYLOAD_INDEX section (FORMAT.md "Vault sections": msgpack [[field, [[value, [label...]]...]]...])
 * read with each value's labels straight into a Uint32Array: the generic decoder made a JavaScript
 * array and a number per label, 100k of them for one index over a 100k-record vault, at open.
 * Fields and values go through the codec (they are few). Null, and the caller decodes the section
 * generically (with its checks and errors), whenever the bytes are not exactly as
 * PayloadIndex.dump() writes them: another shape, a value that is not a plain scalar, a label
 * that is not an unsigned integer below `labelLimit`, labels out of order.
 */
export function readPayloadIndexes(bytes: Uint8Array, labelLimit: number): { field: string; entries: LoadedEntry[] }[] | null {
  let at = 0;
  const byte = (): number => (at < bytes.length ? bytes[at++]! : -1);
  const big = (n: number): number => {
    if (at + n > bytes.length) return -1;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[at++]!;
    return v;
  };
  const arrayLength = (): number => {
    const b = byte();
    if (b >= 0x90 && b <= 0x9f) return b & 0x0f;
    return b === 0xdc ? big(2) : b === 0xdd ? big(4) : -1;
  };
  /** Skips one scalar (nil, boolean, integer, float64, string); false for anything else. */
  const skipScalar = (): boolean => {
    const b = byte();
    if (b < 0) return false;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return true;
    if (b >= 0xa0 && b <= 0xbf) at += b & 0x1f;
    else if (b === 0xcc || b === 0xd0) at += 1;
    else if (b === 0xcd || b === 0xd1) at += 2;
    else if (b === 0xce || b === 0xd2) at += 4;
    else if (b === 0xcb) at += 8;
    else if (b === 0xd9 || b === 0xda || b === 0xdb) {
      const n = big(b === 0xd9 ? 1 : b === 0xda ? 2 : 4);
      if (n < 0) return false;
      at += n;
    } else return false;
    return at <= bytes.length;
  };
  const scalar = (): { value: unknown } | null => {
    const start = at;
    if (!skipScalar()) return null;
    try {
      return { value: decode(bytes.subarray(start, at)) };
    } catch {
      return null;
    }
  };
  const out: { field: string; entries: LoadedEntry[] }[] = [];
  const fields = arrayLength();
  if (fields < 0) return null;
  for (let f = 0; f < fields; f++) {
    if (arrayLength() !== 2) return null;
    const field = scalar();
    if (!field || typeof field.value !== 'string') return null;
    const count = arrayLength();
    if (count < 0) return null;
    const entries: LoadedEntry[] = [];
    for (let e = 0; e < count; e++) {
      if (arrayLength() !== 2) return null;
      const value = scalar();
      const n = value ? arrayLength() : -1;
      // Each label takes at least a byte: a longer list is damage, left to the generic decoder (no allocation from it).
      if (n < 0 || n > bytes.length - at) return null;
      const labels = new Uint32Array(n);
      at = readLabels(bytes, at, labels, labelLimit);
      if (at < 0) return null;
      entries.push({ value: value!.value as Scalar, labels });
    }
    out.push({ field: field.value, entries });
  }
  return at === bytes.length ? out : null;
}

/**
 * The hot loop (a label per record), apart from the closures above so that it runs on locals:
 * `labels.length` unsigned integers from `at`, each below `limit` and above the one before.
 * Returns where they end, or -1.
 */
function readLabels(bytes: Uint8Array, at: number, labels: Uint32Array, limit: number): number {
  const end = bytes.length;
  let previous = -1;
  for (let i = 0; i < labels.length; i++) {
    if (at >= end) return -1;
    const b = bytes[at++]!;
    let l = -1;
    if (b <= 0x7f) l = b;
    else if (b === 0xcd && at + 2 <= end) {
      l = (bytes[at]! << 8) | bytes[at + 1]!;
      at += 2;
    } else if (b === 0xce && at + 4 <= end) {
      l = bytes[at]! * 0x100_0000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
      at += 4;
    } else if (b === 0xcc && at + 1 <= end) l = bytes[at++]!;
    if (l <= previous || l >= limit) return -1;
    labels[i] = previous = l;
  }
  return at;
}
