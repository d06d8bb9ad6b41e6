import { Packr } from 'msgpackr';

/**
 * The one msgpack codec. `useRecords: false` keeps the encoding plain msgpack (no msgpackr
 * record extension), so other tools can read our bodies; `copyBuffers` makes every decoded
 * binary its own copy, never a view into a file buffer we may reuse or release.
 */
const packr = new Packr({ useRecords: false, copyBuffers: true, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });
const viewing = new Packr({ useRecords: false, copyBuffers: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/**
 * decode(), except that binaries are views into `bytes`, not copies: for a buffer the caller
 * keeps for as long as what it decodes (a segment read whole at open), and never reuses.
 */
export function decodeViews(bytes: Uint8Array): unknown {
  return viewing.unpack(bytes);
}
