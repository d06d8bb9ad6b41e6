import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { nodeFileSystem, readdirIfExists, type FileSystem } from '../fs/file-system.js';
import { randomBytes } from 'node:crypto';
import { ConflictError, ioError } from '../errors.js';
import { isAlive } from '../lock/liveness.js';

/**
 * Where export, backup and restore write (README "Export and import", "Readers and backup"). A destination
 * is a path the user names; whatever is there belongs to them. The rule: it must be absent or an
 * empty real directory (not a symlink, not a file), and outside the database being read. The
 * work is built in a sibling staging directory and renamed over the claimed destination in one
 * step, so the destination is either untouched, or empty (claimed), or complete.
 */
export type DestinationKind = 'export' | 'backup' | 'restore';

export interface Claim {
  /** The absolute destination. */
  path: string;
  /** Whether this claim created the directory (a failure removes it again). */
  created: boolean;
}

function conflict(target: string, why: string): ConflictError {
  return new ConflictError('ALREADY_EXISTS', `destination ${target} ${why}: it must be absent or an empty directory; nothing was changed`);
}

/** `p` with its parent resolved through symlinks (the last component is not followed). */
async function realParent(p: string): Promise<string> {
  const parent = path.dirname(p);
  try {
    return path.join(await nodeFileSystem.realpath(parent), path.basename(p));
  } catch {
    return p;
  }
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Refuses a destination that is, or lies inside, one of `protectedDirs` (the database read from). */
export async function checkOutside(target: string, protectedDirs: readonly string[]): Promise<void> {
  const real = await realParent(target);
  for (const dir of protectedDirs) {
    const realDir = await nodeFileSystem.realpath(dir).catch(() => path.resolve(dir));
    if (inside(real, realDir) || inside(target, path.resolve(dir))) throw conflict(target, `lies inside the database directory ${realDir}`);
  }
}

/**
 * An existing destination, checked without following a symlink: a real, empty directory passes
 * (the caller then owns it); anything else is ConflictError.
 */
async function checkEmptyDirectory(target: string): Promise<void> {
  let stat;
  try {
    stat = await nodeFileSystem.stat(target);
  } catch (cause) {
    throw ioError('inspecting', target, cause);
  }
  if (!stat) throw conflict(target, 'was removed while it was being claimed');
  if (stat.kind === 'symlink') throw conflict(target, 'is a symbolic link');
  if (stat.kind !== 'directory') throw conflict(target, 'is a file');
  const entries = await nodeFileSystem.readdir(target).catch((cause: unknown) => {
    throw ioError('reading', target, cause);
  });
  if (entries.length > 0) throw conflict(target, 'exists and is not empty');
}

/**
 * Claims `dest`: its parents are created as needed, then the final component exclusively (mkdir
 * without `recursive`), so no check-then-create race can let two claims or a user's new file
 * through. EEXIST is accepted only for an empty real directory.
 */
export async function claimDestination(dest: string, protectedDirs: readonly string[] = []): Promise<Claim> {
  const target = path.resolve(dest);
  await checkOutside(target, protectedDirs);
  await nodeFileSystem.mkdir(path.dirname(target)).catch((cause: unknown) => {
    throw ioError('creating', path.dirname(target), cause);
  });
  try {
    // Not the seam's mkdir, which is recursive and so cannot tell "made it" from "was there".
    await fsp.mkdir(target);
    return { path: target, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('creating', target, err);
  }
  await checkEmptyDirectory(target);
  return { path: target, created: false };
}

/** Undoes a claim after a failure: removes the directory it created, only while it is still empty. */
export async function releaseClaim(claim: Claim, fs: FileSystem = nodeFileSystem): Promise<void> {
  if (claim.created) await fs.unlinkDir(claim.path).catch(() => undefined);
}

// Not `.old-`: a restore killed between its two renames leaves the only copy of the old database there.
const STAGING = /^(.*)\.(export|backup|restore)-(?:(\d+)-)?[0-9a-f]{8}$/;

/** A fresh staging sibling of `target`: `<target>.<kind>-<pid>-<hex>`, the pid telling a live one from a leftover. */
export function stagingPath(target: string, kind: DestinationKind | 'old'): string {
  return `${target}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Removes staging siblings of `target` that a killed export, backup or restore left: those whose
 * pid is not alive on this host (and the pid-less names of earlier versions). A staging directory
 * of a live process is left alone. Best effort; returns the names removed.
 */
export async function removeStaleStaging(target: string, fs: FileSystem = nodeFileSystem): Promise<string[]> {
  const parent = path.dirname(target);
  const base = path.basename(target);
  const removed: string[] = [];
  for (const name of await readdirIfExists(fs, parent)) {
    const m = STAGING.exec(name);
    if (!m || m[1] !== base) continue;
    const pid = m[3] === undefined ? null : Number(m[3]);
    if (pid !== null && (pid === process.pid || isAlive(pid))) continue;
    const full = path.join(parent, name);
    const stat = await fs.stat(full).catch(() => null);
    if (stat?.kind !== 'directory') continue;
    await fs.removeTree(full).then(() => removed.push(name), () => undefined);
  }
  return removed;
}

/**
 * Renames the finished staging directory over the claimed (empty) destination: rename(2)
 * replaces an empty directory atomically and refuses a non-empty one (ENOTEMPTY) or a file
 * (ENOTDIR), so whatever appeared there meanwhile is never overwritten.
 */
export async function commitStaging(staging: string, target: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  try {
    const stat = await fs.stat(target).catch(() => null);
    if (stat && stat.kind !== 'directory') throw conflict(target, stat.kind === 'symlink' ? 'became a symbolic link' : 'became a file');
    await fs.rename(staging, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') throw conflict(target, 'changed while it was being written');
    throw err instanceof ConflictError ? err : ioError('renaming into', target, err);
  }
}
