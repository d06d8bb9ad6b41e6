import { FRAME_HEADER_SIZE } from '../format/constants.js';
import { atomicReplace } from '../fs/atomic-replace.js';
import type { FileSystem } from '../fs/file-system.js';
import { parseWalHeader, randomSalt, resealFrame, walHeader } from './frame.js';
import type { WalFrame } from './wal-reader.js';

/**
 * Cuts a log file back to its header and fsyncs it, when it is longer (and when it exists).
 * Used where no WalWriter holds the file: ephemeral checkpoints, a finished re-embed. The log
 * keeps its salt: its frames are gone, and the root that made them redundant is already durable.
 */
export async function truncateLogFile(fs: FileSystem, file: string): Promise<void> {
  if (!(await fs.exists(file))) return;
  const fd = fs.openSync(file, 'readwrite');
  try {
    const head = Buffer.alloc(32);
    const header = parseWalHeader(head.subarray(0, fs.readSync(fd, head, 0)));
    const length = header?.size ?? 0;
    if (fs.sizeSync(fd) > length) {
      await fs.truncate(fd, length);
      await fs.fsync(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface LogGeneration {
  logId: number;
  salt: number;
  /** The log's size: its header and the frames carried into it. */
  size: number;
}

/**
 * Starts a new log generation (FORMAT.md "Log generations"): `wal.log.tmp` gets a header with
 * the database's log id and a fresh salt, then `frames` re-sealed with that salt; it is fsynced,
 * renamed over `wal.log`, and the directory fsynced. The rename is what fences a writer whose
 * lock was taken over: its descriptor still points at the old file, now unlinked, so nothing it
 * writes can land in this one; and were it to, its frames carry the old salt and never validate.
 */
export async function writeLogGeneration(fs: FileSystem, file: string, logId: number, frames: readonly WalFrame[], raw: Buffer): Promise<LogGeneration> {
  const salt = randomSalt();
  const header = walHeader(logId, salt);
  const chunks: Buffer[] = [header];
  let size = header.byteLength;
  for (const frame of frames) {
    const sealed = resealFrame(raw.subarray(frame.offset, frame.offset + FRAME_HEADER_SIZE + frame.body.byteLength), salt);
    chunks.push(sealed);
    size += sealed.byteLength;
  }
  await atomicReplace(fs, file, chunks);
  return { logId, salt, size };
}
