import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConflictError, CorruptionError, LockedError, NotFoundError } from '../errors.js';
import { FileName } from '../format/constants.js';
import { nodeFileSystem } from '../fs/file-system.js';
import { listLeases } from '../lock/reader-lease.js';
import { WriterLock } from '../lock/writer-lock.js';
import { backupDirectory, type BackupResult } from './backup.js';
import { checkDatabase } from './check.js';

export interface MaintenanceOptions {
  /** Must agree with the processes that use the database (default 10 s). */
  lockStaleMs?: number;
}

/**
 * Runs `fn` holding the writer lock of `dir` with no live reader: maintenance that replaces or
 * removes the whole directory must not pull it from under anyone (LockedError otherwise).
 */
async function exclusively<T>(dir: string, options: MaintenanceOptions, fn: () => Promise<T>): Promise<T> {
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
  return nodeFileSystem.exists(path.join(dir, FileName.identity));
}

/**
 * Deletes a database directory. IDENTITY goes first, so an interrupted destroy leaves a
 * directory that no longer opens as a database rather than half of one.
 */
export async function destroy(dir: string, options: MaintenanceOptions = {}): Promise<void> {
  const root = path.resolve(dir);
  if (!(await isDatabase(root))) throw new NotFoundError('database', `no database at ${root}`);
  await exclusively(root, options, async () => {
    await fsp.rm(path.join(root, FileName.identity));
    await nodeFileSystem.syncDir(root);
    for (const entry of await fsp.readdir(root)) {
      if (entry === FileName.lock || entry === `${FileName.lock}.lock`) continue;
      await fsp.rm(path.join(root, entry), { recursive: true, force: true });
    }
  });
  await fsp.rm(root, { recursive: true, force: true });
}

/**
 * Replaces (or creates) the database at `dir` with a copy of the backup at `backup`, after
 * verifying every checksum of the backup. The copy is built beside `dir` and swapped in by
 * renames; the old directory is removed only after the new one is in place.
 */
export async function restore(backup: string, dir: string, options: MaintenanceOptions = {}): Promise<BackupResult> {
  const source = path.resolve(backup);
  const root = path.resolve(dir);
  const report = await checkDatabase(source);
  if (!report.ok) throw new CorruptionError(report.problems[0]!.file, `the backup does not verify: ${report.problems.map((p) => `${p.file}: ${p.message}`).join('; ')}`);
  const staging = `${root}.restore-${randomBytes(4).toString('hex')}`;
  const copied = await backupDirectory(nodeFileSystem, source, staging);
  const swap = async (): Promise<void> => {
    const old = `${root}.old-${randomBytes(4).toString('hex')}`;
    if (await nodeFileSystem.exists(root)) await fsp.rename(root, old);
    await fsp.rename(staging, root);
    await nodeFileSystem.syncDir(path.dirname(root));
    await fsp.rm(old, { recursive: true, force: true });
  };
  try {
    if (await isDatabase(root)) await exclusively(root, options, swap);
    else if ((await fsp.readdir(root).catch(() => [])).length > 0) throw new ConflictError('ALREADY_EXISTS', `${root} exists and is not a database`);
    else {
      await fsp.rm(root, { recursive: true, force: true });
      await swap();
    }
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw err;
  }
  return { ...copied, path: root };
}
