import { crc32c } from '../format/crc.js';
import type { FileSystem } from './file-system.js';

const CHUNK = 4 << 20;
/** Chunks of a check whose bytes are not kept (checksumRange): the buffers are all it costs in memory. */
const SMALL_CHUNK = 1 << 20;

/**
 * Reads `length` bytes of `fd` from `position` in 4 MiB chunks, computing their CRC32C from
 * `seed`: the next chunk is read in the thread pool while this one is checksummed, so no single
 * turn of the event loop checksums more than one chunk. `into(offset, size)` is where the chunk
 * at `offset` lands (one of two reused buffers, or a window of the destination). Returns the
 * bytes read (short only at the end of the file) and the CRC.
 */
async function readChunks(fs: FileSystem, fd: number, position: number, length: number, seed: number, into: (offset: number, size: number) => Uint8Array, chunkSize = CHUNK, each?: (chunk: Uint8Array, offset: number) => void): Promise<{ bytes: number; crc32c: number }> {
  let crc = seed;
  let done = 0;
  const start = (offset: number): Promise<number> | null => {
    const size = Math.min(chunkSize, length - offset);
    return size > 0 ? fs.read(fd, into(offset, size), position + offset) : null;
  };
  let next = start(0);
  while (next) {
    const n = await next;
    const chunk = into(done, n);
    each?.(chunk.subarray(0, n), done);
    const full = n === Math.min(chunkSize, length - done);
    done += n;
    next = full ? start(done) : null;
    crc = crc32c(chunk.subarray(0, n), crc);
  }
  return { bytes: done, crc32c: crc };
}

/**
 * The size and CRC32C of a file, read through two alternating 4 MiB buffers: the file is never
 * whole in memory (a saved graph is as large as the vectors it indexes). `each` sees every chunk
 * in order, with its offset, before the buffer is reused (chunks start at multiples of 4 MiB).
 */
export async function checksumFile(fs: FileSystem, file: string, each?: (chunk: Uint8Array, offset: number) => void): Promise<{ bytes: number; crc32c: number }> {
  const fd = fs.openSync(file, 'read');
  try {
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
    return await readChunks(fs, fd, 0, fs.sizeSync(fd), 0, (offset, n) => buffers[(offset / CHUNK) & 1]!.subarray(0, n), CHUNK, each);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The CRC32C of `length` bytes of `fd` from `position`, continued from `seed`, read through two
 * alternating 1 MiB buffers (nothing is kept), and how many bytes there were.
 */
export function checksumRange(fs: FileSystem, fd: number, position: number, length: number, seed: number): Promise<{ bytes: number; crc32c: number }> {
  const buffers = [Buffer.allocUnsafe(Math.min(SMALL_CHUNK, length)), Buffer.allocUnsafe(Math.min(SMALL_CHUNK, length))] as const;
  return readChunks(fs, fd, position, length, seed, (offset, n) => buffers[(offset / SMALL_CHUNK) & 1]!.subarray(0, n), SMALL_CHUNK);
}

/** checksumRange, synchronously (a vector needed before the background check has finished). */
export function checksumRangeSync(fs: FileSystem, fd: number, position: number, length: number, seed: number): { bytes: number; crc32c: number } {
  const chunk = Buffer.allocUnsafe(Math.min(SMALL_CHUNK, length));
  let crc = seed;
  let done = 0;
  while (done < length) {
    const want = Math.min(SMALL_CHUNK, length - done);
    const n = fs.readSync(fd, chunk.subarray(0, want), position + done);
    crc = crc32c(chunk.subarray(0, n), crc);
    done += n;
    if (n < want) break;
  }
  return { bytes: done, crc32c: crc };
}

/**
 * Fills `into` from `position` of `fd` and returns the CRC32C of what it read, continued from
 * `seed`, and how many bytes it read (fewer than asked only at the end of the file).
 */
export function readChecksummed(fs: FileSystem, fd: number, into: Uint8Array, position: number, seed: number): Promise<{ bytes: number; crc32c: number }> {
  return readChunks(fs, fd, position, into.byteLength, seed, (offset, n) => into.subarray(offset, offset + n));
}
