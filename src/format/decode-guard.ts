import { CorruptionError, QuiverError } from '../errors.js';

/**
 * The boundary of every on-disk decoder. A body that passed its checksum but does not have the
 * shape this build writes (a JSON null where an object was, a msgpack array cut short, an offset
 * past the end) is corruption, whichever JavaScript error first notices it: it leaves as
 * CorruptionError naming the file, never as a TypeError or RangeError. Decoders still check what
 * they can explicitly, with better messages; this catches what they miss. Typed errors the
 * decoder raises itself pass through unchanged.
 */
export function guarded<T>(file: string, decode: () => T): T {
  try {
    return decode();
  } catch (cause) {
    if (cause instanceof QuiverError) throw cause;
    throw new CorruptionError(file, `is malformed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A JSON body that must be an object (not null, an array or a scalar). */
export function jsonObject(bytes: Uint8Array, file: string, what = 'body'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new CorruptionError(file, `${what} is not JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CorruptionError(file, `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}
