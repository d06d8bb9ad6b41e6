import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const impl = require('fast-crc32c') as { calculate(input: Uint8Array | string, initial?: number): number };

/** CRC32C (Castagnoli) of `bytes`, continuing from `initial` when given. */
export function crc32c(bytes: Uint8Array, initial?: number): number {
  return initial === undefined ? impl.calculate(toBuffer(bytes)) : impl.calculate(toBuffer(bytes), initial);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
