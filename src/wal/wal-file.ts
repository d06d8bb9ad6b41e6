import type { FileSystem } from '../fs/file-system.js';

/**
 * Cuts a log file back to `length` bytes and fsyncs it, when it is longer (and when it exists).
 * Used where no WalWriter holds the file: recovery, ephemeral checkpoints, a finished re-embed.
 */
export async function truncateLogFile(fs: FileSystem, file: string, length: number): Promise<void> {
  if (!(await fs.exists(file))) return;
  const fd = fs.openSync(file, 'readwrite');
  try {
    if (fs.sizeSync(fd) > length) {
      await fs.truncate(fd, length);
      await fs.fsync(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
}
