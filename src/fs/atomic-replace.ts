import * as path from 'node:path';
import { TMP_SUFFIX } from '../format/constants.js';
import type { FileSystem } from './file-system.js';

/**
 * Replaces `target` with `chunks` so that a crash at any point leaves either the old file or
 * the new one, never a mix: write `target.tmp`, fsync it, rename over `target`, fsync the
 * directory (so the rename itself is durable). On failure the tmp file is removed.
 */
export async function atomicReplace(fs: FileSystem, target: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = target + TMP_SUFFIX;
  try {
    await fs.writeFileSynced(tmp, chunks);
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fs.syncDir(path.dirname(target));
}
