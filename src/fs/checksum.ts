import { crc32c } from '../format/crc.js';
import type { FileSystem } from './file-system.js';

const CHUNK = 4 << 20;

/**
 * The size and CRC32C of a file, read in 4 MiB chunks: the next chunk is read in the thread
 * pool while this one is checksummed, and the file is never whole in memory (a saved graph is
 * as large as the vectors it indexes).
 */
export async function checksumFile(fs: FileSystem, file: string): Promise<{ bytes: number; crc32c: number }> {
  const fd = fs.openSync(file, 'read');
  try {
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
    let crc = 0;
    let position = 0;
    let next = fs.read(fd, buffers[0], 0);
    for (let i = 0; ; i++) {
      const n = await next;
      if (n === 0) break;
      position += n;
      next = n < CHUNK ? Promise.resolve(0) : fs.read(fd, buffers[(i + 1) & 1]!, position);
      crc = crc32c(buffers[i & 1]!.subarray(0, n), crc);
    }
    return { bytes: position, crc32c: crc };
  } finally {
    fs.closeSync(fd);
  }
}
