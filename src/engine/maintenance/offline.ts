import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CorruptionError, LockedError, NotFoundError, QuiverError, ioError } from '../../errors.js';
import { checkOutside, claimDestination, commitStaging, dropMarker, releaseClaim, removeStaleStaging, type Claim } from './destination.js';
import { FileName } from '../../format/constants.js';
import { nodeFileSystem } from '../../fs/file-system.js';
import { listLeases } from '../../lock/reader-lease.js';
import { WriterLock } from '../../lock/writer-lock.js';
import { copyDatabase, type BackupResult } from './backup.js';
import { checkDatabase } from './check.js';

// Offline maintenance runs on the real filesystem, through the seam like everything else.
const fs = nodeFileSystem;

export interface MaintenanceOptions {
  /** Must agree with the processes that use the database (default 10 s). */
  lockStaleMs?: number;
}

/**
 * Runs `fn` holding the writer lock of `dir` with no live reader: maintenance that replaces or
 * removes the whole directory must not pull it from under anyone (LockedError otherwise).
 */
async function withDirectoryAlone<T>(dir: string, options: MaintenanceOptions, fn: () => Promise<T>): Promise<T> {
  const staleMs = Math.max(2000, options.lockStaleMs ?? 10_000);
  const lock = await WriterLock.acquire(dir, { staleMs, timeoutMs: 0, onCompromised: () => undefined });
  try {
    const live = listLeases(dir, staleMs).filter((l) => !l.stale);
    if (live.length > 0) {
      throw new LockedError('LOCKED', `${dir} has ${live.length} live reader(s): ${live.map((l) => `pid ${l.pid} on ${l.host}`).join(', ')}`);
    }
    return await fn();
  } finally {
    await lock.unlock().catch(() => undefined);
  }
}

async function isDatabase(dir: string): Promise<boolean> {
  return fs.exists(path.join(dir, FileName.identity));
}

/**
 * Deletes a database directory. IDENTITY goes first, so an interrupted destroy leaves a
 * directory that no longer opens as a database rather than half of one.
 */
export async function destroy(dir: string, options: MaintenanceOptions = {}): Promise<void> {
  const root = path.resolve(dir);
  if (!(await isDatabase(root))) throw new NotFoundError('database', `no database at ${root}`);
  await withDirectoryAlone(root, options, () =>
    io('destroying', root, async () => {
      await fs.unlink(path.join(root, FileName.identity));
      await fs.syncDir(root);
      for (const entry of await fs.readdir(root)) {
        if (entry === FileName.lock || entry === `${FileName.lock}.lock`) continue;
        await fs.removeTree(path.join(root, entry));
      }
    }),
  );
  await io('removing', root, () => fs.removeTree(root));
}

/**
 * What `dir` is to a restore: an existing database (replaced), or absent or an empty real
 * directory (claimed). A symlink, a file or any other non-empty directory is ConflictError,
 * and nothing there is touched.
 */
async function restoreTarget(root: string, source: string): Promise<{ database: true } | { database: false; claim: Claim }> {
  await checkOutside(root, [source]);
  await checkOutside(source, [root]);
  const stat = await fs.stat(root).catch((err: unknown) => {
    throw ioError('inspecting', root, err);
  });
  if (stat?.kind === 'directory' && (await isDatabase(root))) return { database: true };
  return { database: false, claim: await claimDestination(root, [], fs) };
}

/**
 * Replaces (or creates) the database at `dir` with a copy of the backup at `backup`, after
 * verifying every checksum of the backup. `dir` must be a database, absent, or an empty
 * directory (ConflictError otherwise). The copy is built beside `dir` and swapped in by
 * renames; the old directory is removed only after the new one is in place.
 */
export async function restore(backup: string, dir: string, options: MaintenanceOptions = {}): Promise<BackupResult> {
  const source = path.resolve(backup);
  const root = path.resolve(dir);
  const target = await restoreTarget(root, source);
  let staging: string;
  let copied: BackupResult;
  try {
    const report = await checkDatabase(source);
    if (!report.ok) throw new CorruptionError(report.problems[0]!.file, `the backup does not verify: ${report.problems.map((p) => `${p.file}: ${p.message}`).join('; ')}`);
    await removeStaleStaging(root, fs);
    ({ staging, result: copied } = await copyDatabase(fs, source, root, 'restore'));
  } catch (err) {
    if (!target.database) await releaseClaim(target.claim, fs);
    throw err;
  }
  try {
    if (target.database) {
      await withDirectoryAlone(root, options, async () => {
        const old = `${root}.old-${randomBytes(4).toString('hex')}`;
        await dropMarker(staging, fs);
        await io('moving aside', root, () => fs.rename(root, old));
        await io('renaming into', root, () => fs.rename(staging, root)).catch(async (err: unknown) => {
          await fs.rename(old, root).catch(() => undefined);
          throw err;
        });
        await fs.syncDir(path.dirname(root));
        await fs.removeTree(old);
      });
    } else {
      await commitStaging(staging, root, fs);
      await fs.syncDir(path.dirname(root));
    }
  } catch (err) {
    await fs.removeTree(staging).catch(() => undefined);
    if (!target.database) await releaseClaim(target.claim, fs);
    throw err instanceof QuiverError ? err : ioError('restoring', root, err);
  }
  return { ...copied, path: root };
}

async function io<T>(action: string, p: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    throw ioError(action, p, cause);
  }
}
