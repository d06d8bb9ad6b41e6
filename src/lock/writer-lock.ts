import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { ioError, LockedError, type LockHolder } from '../errors.js';
import { FileName } from '../format/constants.js';
import { nodeFileSystem, type FileSystem } from '../fs/file-system.js';
import { isAlive } from './liveness.js';
import { Fence } from './fence.js';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const require = createRequire(import.meta.url);
/** Loaded when a writer first locks: a read-only process never pays for proper-lockfile (and graceful-fs). */
let lockfile: typeof import('proper-lockfile') | undefined;
const lockfileModule = () => (lockfile ??= require('proper-lockfile') as typeof import('proper-lockfile'));

type CallbackFs = typeof import('node:fs');

/**
 * The filesystem proper-lockfile works through: its own (graceful-fs), except that the lock
 * directory is removed only while `mayRemove()` says it is still ours. proper-lockfile removes it
 * on release and at process exit without asking whose it is; a writer whose lock another process
 * took over would otherwise delete the new holder's directory, which fails that writer and frees
 * the database for a third.
 */
function guardedLockFs(mayRemove: () => boolean): CallbackFs {
  const base = createRequire(require.resolve('proper-lockfile'))('graceful-fs') as CallbackFs;
  return {
    ...base,
    rmdir: ((file: string, ...rest: unknown[]) => {
      const callback = rest[rest.length - 1] as (err: NodeJS.ErrnoException | null) => void;
      if (!mayRemove()) return callback(null);
      (base.rmdir as (file: string, cb: typeof callback) => void)(file, callback);
    }) as CallbackFs['rmdir'],
    rmdirSync: ((file: string) => {
      if (mayRemove()) base.rmdirSync(file);
    }) as CallbackFs['rmdirSync'],
  };
}

export interface WriterLockOptions {
  /** A lock not refreshed for this long belongs to a dead writer and is taken over. */
  staleMs: number;
  /** How long to keep trying before raising LockedError. */
  timeoutMs: number;
  /** Called if the lock is lost while held (its directory removed or not refreshable). */
  onCompromised: (err: LockedError) => void;
  /** The filesystem seam LOCK is written and read through (proper-lockfile keeps `LOCK.lock` with its own). */
  fs?: FileSystem;
}

/**
 * The writer's exclusive lock (FORMAT.md "LOCK"): proper-lockfile's `LOCK.lock` directory,
 * refreshed every staleMs/2 while the writer lives. `LOCK` itself holds the holder's pid,
 * host and start time as JSON, for the error a second writer gets and for `quiver stats`.
 */
export class WriterLock {
  private constructor(
    private readonly release: () => Promise<void>,
    readonly holder: LockHolder,
    /** Checks, at each durability point, that no other process has taken the lock over. */
    readonly fence: Fence,
  ) {}

  static async acquire(dir: string, options: WriterLockOptions): Promise<WriterLock> {
    const fs = options.fs ?? nodeFileSystem;
    const target = path.join(dir, FileName.lock);
    // Whose the directory is, once this writer has written its token to LOCK (until then it is
    // ours, and proper-lockfile's own removals, a stale directory's among them, go ahead): another
    // writer's once LOCK holds a token neither ours nor the one we replaced, since a new writer
    // rewrites LOCK right after taking the directory over (below). LOCK missing, torn, ours or
    // back to the one we replaced (an open that made no database removes the LOCK it added; a
    // power cut loses our rewrite) leaves the directory ours to remove.
    // Also the directory itself, once made: a takeover removes it and makes another (a new inode
    // and birth time), which tells the two apart even before the new writer has rewritten LOCK.
    const token = randomBytes(8).toString('hex');
    let replaced: string | null = null;
    let written = false;
    let made: DirectoryIdentity | null = null;
    const lockDir = `${target}.lock`;
    const lockFs = guardedLockFs(() => made === null || (sameDirectory(lockDir, made) && !(written && heldByAnother(target, [token, replaced]))));
    const attempt = (timeoutMs: number) =>
      lockfileModule().lock(target, {
        fs: lockFs,
        stale: options.staleMs,
        realpath: false,
        retries: timeoutMs > 0 ? { retries: Math.ceil(timeoutMs / RETRY_EVERY_MS), factor: 1, minTimeout: RETRY_EVERY_MS, maxTimeout: RETRY_EVERY_MS } : 0,
        onCompromised: (cause) => options.onCompromised(new LockedError('LOCK_COMPROMISED', `the writer lock on ${dir} was lost: ${cause.message}`, { cause })),
      });
    let release: () => Promise<void>;
    try {
      try {
        release = await attempt(options.timeoutMs);
      } catch (err) {
        // A writer that died on this host leaves a lock nobody refreshes: rather than fail a
        // restart, wait until it goes stale, then take it over. The wait is bounded by staleMs,
        // plus up to one second because proper-lockfile rounds mtimes up to their precision.
        const holder = (err as NodeJS.ErrnoException).code === 'ELOCKED' ? await readHolder(dir, fs) : undefined;
        if (!holder || holder.host !== os.hostname() || isAlive(holder.pid)) throw err;
        release = await attempt(options.staleMs + 1000 + 5 * RETRY_EVERY_MS);
      }
      made = directoryIdentity(lockDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        const holder = await readHolder(dir, fs);
        const who = holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process';
        throw new LockedError('LOCKED', `${dir} is locked for writing by ${who}`, { cause: err, ...(holder ? { holder } : {}) });
      }
      throw ioError('locking', target, err);
    }
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
    // Written before anything else is read: a writer whose lock this takes over sees LOCK change
    // (lock/fence.ts). The token keeps two sessions' contents apart even for the same pid.
    // Not fsynced: LOCK describes a live process, and nothing reads it after a power cut but a new writer.
    const bytes = Buffer.from(JSON.stringify({ ...holder, token }) + '\n');
    replaced = tokenIn(target);
    try {
      const fd = fs.openSync(target, 'create');
      try {
        await fs.truncate(fd, 0);
        fs.writeSync(fd, bytes, 0);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      await release().catch(() => undefined);
      throw ioError('writing', target, err);
    }
    written = true;
    let fence: Fence;
    try {
      fence = new Fence(target, `${target}.lock`, options.staleMs);
    } catch (err) {
      await release().catch(() => undefined);
      throw ioError('opening', target, err);
    }
    return new WriterLock(release, holder, fence);
  }

  async unlock(): Promise<void> {
    this.fence.close();
    await this.release().catch((err: NodeJS.ErrnoException) => {
      // Already released or compromised: there is nothing left to give back.
      if (err.code !== 'ERELEASED' && err.code !== 'ENOTACQUIRED') throw err;
    });
  }
}

const RETRY_EVERY_MS = 100;

interface DirectoryIdentity {
  ino: bigint;
  birthtimeNs: bigint;
}

/** The lock directory just made (no one can have taken it over yet: it is fresh), or null if it cannot be read. */
function directoryIdentity(dir: string): DirectoryIdentity | null {
  try {
    const stat = statSync(dir, { bigint: true });
    return { ino: stat.ino, birthtimeNs: stat.birthtimeNs };
  } catch {
    return null;
  }
}

/** Whether `dir` is still the directory `made` describes (proper-lockfile's refreshes change neither). */
function sameDirectory(dir: string, made: DirectoryIdentity): boolean {
  const now = directoryIdentity(dir);
  return now !== null && now.ino === made.ino && now.birthtimeNs === made.birthtimeNs;
}

/** The token LOCK holds now (read by path), or null if it is missing, torn or has none. */
function tokenIn(lockFile: string): string | null {
  try {
    const token = (JSON.parse(readFileSync(lockFile, 'utf8')) as { token?: unknown }).token;
    return typeof token === 'string' ? token : null;
  } catch {
    return null;
  }
}

/** Whether LOCK holds a token that is none of `known`: a writer that took the lock over wrote it. */
function heldByAnother(lockFile: string, known: readonly (string | null)[]): boolean {
  const now = tokenIn(lockFile);
  return now !== null && !known.includes(now);
}

/** The holder recorded in LOCK, if it can be read. */
export async function readHolder(dir: string, fs: FileSystem = nodeFileSystem): Promise<LockHolder | undefined> {
  try {
    const text = (await fs.readFile(path.join(dir, FileName.lock))).toString('utf8');
    const value = JSON.parse(text) as LockHolder;
    return Number.isInteger(value.pid) && typeof value.host === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The live writer, as seen from outside: its recorded holder, or null when no lock is held or it is stale. */
export function writerStatus(dir: string, staleMs: number, fs: FileSystem = nodeFileSystem): (LockHolder & { refreshedAt: string }) | null {
  try {
    const stat = fs.statSync(path.join(dir, `${FileName.lock}.lock`));
    if (!stat || Date.now() - stat.mtimeMs > staleMs) return null;
    const holder = JSON.parse(fs.readFileSync(path.join(dir, FileName.lock)).toString('utf8')) as LockHolder;
    if (holder.host === os.hostname() && !isAlive(holder.pid)) return null;
    return { ...holder, refreshedAt: new Date(stat.mtimeMs).toISOString() };
  } catch {
    return null;
  }
}
