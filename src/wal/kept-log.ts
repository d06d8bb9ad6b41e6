import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FileName, WAL_HEADER_SIZE } from '../format/constants.js';
import { readdirIfExists, type FileSystem } from '../fs/file-system.js';
import { listLeases } from '../lock/reader-lease.js';
import type { WalWriter } from './wal-writer.js';

/**
 * Log generations kept for an external shipper (FORMAT.md "wal.kept/"). `quiver replicate`
 * reads the directory from another process; a checkpoint replaces wal.log, and a generation the
 * shipper had not read to its end would be gone, with records in it that no log chunk holds
 * (they are in the checkpoint, but point-in-time restore inside them would be refused). So
 * while a live reader lease says `ships`, the writer hard-links the generation it is about to
 * replace to `wal.kept/<checkpointLsn>-<salt>.log` (no copy, no fsync: losing one in a power cut
 * only brings that gap back), and the shipper removes each one once it has read it.
 */
const KEPT_PATTERN = /^(\d{16})-([0-9a-f]{8})\.log$/;
/** Past this many bytes kept, the shipper is not keeping up: stop keeping (it restarts its chain at a checkpoint). */
const KEPT_LIMIT = 256 * 1024 * 1024;

export function keptName(checkpointLsn: number, salt: number): string {
  return `${String(checkpointLsn).padStart(16, '0')}-${(salt >>> 0).toString(16).padStart(8, '0')}.log`;
}

/** Kept generations, oldest first, as paths with the checkpoint LSN that replaced each. */
export async function listKept(fs: FileSystem, dir: string): Promise<{ file: string; lsn: number }[]> {
  const keptDir = path.join(dir, FileName.walKept);
  const names = await readdirIfExists(fs, keptDir);
  return names
    .filter((n) => KEPT_PATTERN.test(n))
    .sort()
    .map((n) => ({ file: path.join(keptDir, n), lsn: Number(KEPT_PATTERN.exec(n)![1]) }));
}

/**
 * The writer, after a checkpoint committed and before it replaces the log: keeps the log for a
 * live shipper, or removes what was kept when none is left. Only the flush can fail it (the log
 * is unusable then); keeping itself is best effort, never a reason to fail the checkpoint: when
 * `readers/` cannot be listed it keeps nothing and removes nothing. Through the seam but for the
 * hard link, which `FileSystem` has no call for (FORMAT.md "Crash analysis").
 */
export async function keepLogForShippers(fs: FileSystem, wal: WalWriter, dir: string, staleMs: number, checkpointLsn: number): Promise<void> {
  const keptDir = path.join(dir, FileName.walKept);
  let shipping: boolean;
  try {
    shipping = listLeases(dir, staleMs, fs).some((l) => !l.stale && l.ships === true);
  } catch {
    return;
  }
  if (!shipping) {
    await fs.removeTree(keptDir).catch(() => undefined);
    return;
  }
  // Relaxed durability buffers frames: the kept file must hold every one the checkpoint covers.
  await wal.makeDurable();
  if (wal.byteLength <= WAL_HEADER_SIZE) return;
  try {
    let kept = 0;
    for (const k of await listKept(fs, dir)) kept += (await fs.stat(k.file))?.size ?? 0;
    if (kept + wal.byteLength > KEPT_LIMIT) return;
    await fs.mkdir(keptDir);
    await fsp.link(path.join(dir, FileName.wal), path.join(keptDir, keptName(checkpointLsn, wal.salt)));
  } catch {
    // EEXIST (the same generation twice), a filesystem without hard links: the shipper's chain
    // restarts at this checkpoint, as it would without the lease.
  }
}
