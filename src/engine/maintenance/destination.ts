import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { nodeFileSystem, readdirIfExists, type FileSystem } from '../../fs/file-system.js';
import { randomBytes } from 'node:crypto';
import { ConflictError, ioError } from '../../errors.js';
import { isAlive } from '../../lock/liveness.js';

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
async function realParent(p: string, fs: FileSystem): Promise<string> {
  const parent = path.dirname(p);
  try {
    return path.join(await fs.realpath(parent), path.basename(p));
  } catch {
    return p;
  }
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Refuses a destination that is, or lies inside, one of `protectedDirs` (the database read from). */
export async function checkOutside(target: string, protectedDirs: readonly string[], fs: FileSystem = nodeFileSystem): Promise<void> {
  const real = await realParent(target, fs);
  for (const dir of protectedDirs) {
    const realDir = await fs.realpath(dir).catch(() => path.resolve(dir));
    if (inside(real, realDir) || inside(target, path.resolve(dir))) throw conflict(target, `lies inside the database directory ${realDir}`);
  }
}

/**
 * An existing destination, checked without following a symlink: a real, empty directory passes
 * (the caller then owns it); anything else is ConflictError.
 */
async function checkEmptyDirectory(target: string, fs: FileSystem): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(target);
  } catch (cause) {
    throw ioError('inspecting', target, cause);
  }
  if (!stat) throw conflict(target, 'was removed while it was being claimed');
  if (stat.kind === 'symlink') throw conflict(target, 'is a symbolic link');
  if (stat.kind !== 'directory') throw conflict(target, 'is a file');
  const entries = await fs.readdir(target).catch((cause: unknown) => {
    throw ioError('reading', target, cause);
  });
  if (entries.length > 0) throw conflict(target, 'exists and is not empty');
}

/**
 * Claims `dest`: its parents are created as needed, then the final component exclusively (mkdir
 * without `recursive`), so no check-then-create race can let two claims or a user's new file
 * through. EEXIST is accepted only for an empty real directory. Each parent it creates has its
 * entry fsynced into its own parent, so a result that resolved is still reachable after a power
 * cut; the final component's entry is the caller's to fsync (after the staging is renamed over it).
 */
export async function claimDestination(dest: string, protectedDirs: readonly string[] = [], fs: FileSystem = nodeFileSystem): Promise<Claim> {
  const target = path.resolve(dest);
  await checkOutside(target, protectedDirs, fs);
  const parent = path.dirname(target);
  try {
    const created: string[] = [];
    for (let d = parent; d !== path.dirname(d) && (await fs.stat(d)) === null; d = path.dirname(d)) created.unshift(d);
    await fs.mkdir(parent);
    // Outermost first: each new directory's entry in the directory above it.
    for (const d of created) await fs.syncDir(path.dirname(d));
  } catch (cause) {
    throw ioError('creating', parent, cause);
  }
  try {
    // Not the seam's mkdir, which is recursive and so cannot tell "made it" from "was there".
    await fsp.mkdir(target);
    return { path: target, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('creating', target, err);
  }
  await checkEmptyDirectory(target, fs);
  return { path: target, created: false };
}

/** Undoes a claim after a failure: removes the directory it created, only while it is still empty. */
export async function releaseClaim(claim: Claim, fs: FileSystem = nodeFileSystem): Promise<void> {
  if (claim.created) await fs.unlinkDir(claim.path).catch(() => undefined);
}

// Not `.old-`: a restore killed between its two renames leaves the only copy of the old database there.
const STAGING = /^(.*)\.(export|backup|restore)-(\d+)-[0-9a-f]{8}$/;

/**
 * The file a staging directory holds from its creation until just before it is renamed into
 * place: only a directory carrying it, naming that very directory's target and pid, is ever
 * removed as a leftover. A user's own `db.backup-20261130` never has one, so it is never touched.
 */
export const STAGING_MARKER = '.quiver-staging';

interface Marker {
  pid: number;
  host: string;
  target: string;
}

/** A fresh staging path beside `target`: `<target>.<kind>-<pid>-<hex>`. */
export function stagingPath(target: string, kind: DestinationKind): string {
  return `${target}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Creates a staging directory for `target` with its marker written (and fsynced) first; returns its path. */
export async function createStaging(target: string, kind: DestinationKind, fs: FileSystem = nodeFileSystem): Promise<string> {
  const staging = stagingPath(target, kind);
  const marker: Marker = { pid: process.pid, host: os.hostname(), target: path.resolve(target) };
  try {
    await fs.mkdir(staging);
    await fs.writeFileSynced(path.join(staging, STAGING_MARKER), [Buffer.from(JSON.stringify(marker) + '\n')]);
  } catch (cause) {
    await fs.removeTree(staging).catch(() => undefined);
    throw ioError('creating', staging, cause);
  }
  return staging;
}

/**
 * Takes the marker out of a finished staging directory and fsyncs it, just before it is renamed
 * into place (a crash in between leaves an unmarked staging directory: left alone, never removed).
 */
export async function dropMarker(staging: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  try {
    await fs.unlink(path.join(staging, STAGING_MARKER));
    await fs.syncDir(staging);
  } catch (cause) {
    throw ioError('finishing', staging, cause);
  }
}

/** Whether `dir` is a staging directory this code made for `target` by process `pid`, judged by its marker. */
async function isOurStaging(dir: string, target: string, pid: number, fs: FileSystem): Promise<boolean> {
  if ((await fs.stat(dir))?.kind !== 'directory') return false;
  const file = path.join(dir, STAGING_MARKER);
  if ((await fs.stat(file))?.kind !== 'file') return false;
  let marker: Partial<Marker>;
  try {
    marker = JSON.parse((await fs.readFile(file)).toString('utf8')) as Partial<Marker>;
  } catch {
    return false;
  }
  return marker.pid === pid && marker.target === target && marker.host === os.hostname();
}

/**
 * Removes staging siblings of `target` that a killed export, backup or restore left: a directory
 * named like one, holding our marker for this target, whose pid is not alive on this host. A
 * staging directory of a live process, and anything without the marker, is left alone. A parent
 * that cannot be listed is StorageError (the caller holds its claim inside its `try`, so the
 * claim is released); a leftover that cannot be inspected or removed is skipped. Returns the
 * names removed.
 */
export async function removeStaleStaging(target: string, fs: FileSystem = nodeFileSystem): Promise<string[]> {
  const resolved = path.resolve(target);
  const parent = path.dirname(resolved);
  const base = path.basename(resolved);
  const removed: string[] = [];
  for (const name of await readdirIfExists(fs, parent)) {
    const m = STAGING.exec(name);
    if (!m || m[1] !== base) continue;
    const pid = Number(m[3]);
    if (pid === process.pid || isAlive(pid)) continue;
    const full = path.join(parent, name);
    if (!(await isOurStaging(full, resolved, pid, fs).catch(() => false))) continue;
    await fs.removeTree(full).then(() => removed.push(name), () => undefined);
  }
  return removed;
}

/**
 * Drops the staging directory's marker, then renames it over the claimed (empty) destination: rename(2)
 * replaces an empty directory atomically and refuses a non-empty one (ENOTEMPTY) or a file
 * (ENOTDIR), so whatever appeared there meanwhile is never overwritten.
 */
export async function commitStaging(staging: string, target: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  await dropMarker(staging, fs);
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
