import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptionError, ioError } from '../errors.js';

/**
 * The filesystem seam: the few calls the engine makes that touch durable state. Production
 * uses `nodeFileSystem`; crash tests wrap it to fail the n-th call or to record what was synced.
 * Small appends to the log are synchronous (a write(2) of a few KiB is cheaper than a trip
 * through the thread pool); anything that may wait on the device (fsync, bulk I/O) is async.
 */
export interface FileSystem {
  /** Opens an existing file for reading and writing, or creates it when `create`. */
  openSync(path: string, mode: 'read' | 'readwrite' | 'create'): number;
  writeSync(fd: number, data: Uint8Array, position: number): void;
  readSync(fd: number, into: Uint8Array, position: number): number;
  /** Fills `into` from `position` (in the thread pool); returns fewer bytes only at the end of the file. */
  read(fd: number, into: Uint8Array, position: number): Promise<number>;
  sizeSync(fd: number): number;
  closeSync(fd: number): void;
  /** Closes in the thread pool: where closing may free much (the last reference to an unlinked file drops its page cache). */
  close(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  truncate(fd: number, length: number): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /**
   * Writes a whole new file (truncating any old one) and fsyncs it before resolving. Chunks given
   * as an async iterable are written as they come, each before the next is asked for (a checkpoint
   * makes its segment while writing it, reusing one buffer for chunk after chunk).
   */
  writeFileSynced(path: string, chunks: readonly Uint8Array[] | AsyncIterable<Uint8Array>): Promise<void>;
  /** fsync a file written by someone else (hnswlib writes its graph files itself). */
  syncFile(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Removes an empty directory. */
  unlinkDir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** fsync a directory so that renames and creations inside it are durable. */
  syncDir(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** What is at `path`, without following a symbolic link; null when nothing is. */
  stat(path: string): Promise<FileStat | null>;
  /** The synchronous reads `db.stats()` and the lease listing make (a handful of small files). */
  statSync(path: string): FileStat | null;
  readdirSync(path: string): string[];
  readFileSync(path: string): Buffer;
  /** `path` with every symbolic link resolved (to tell whether a destination lies inside a database). */
  realpath(path: string): Promise<string>;
  /** Removes a file or a directory with everything in it; nothing there is not an error. */
  removeTree(path: string): Promise<void>;
  /**
   * A file written by native code at a path we choose: hnswlib writes its graph files itself, by
   * name, and nothing else can. Whatever is at `path` is removed first (so a symbolic link planted
   * there is not followed), then `write(path)` runs, then the file is fsynced when `sync`.
   */
  writeNative(path: string, write: (path: string) => Promise<void>, sync: boolean): Promise<void>;
  /** A new private directory (mode 0700, a random name) in the OS temp directory. */
  makeTempDir(prefix: string): Promise<string>;
}

export interface FileStat {
  kind: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mtimeMs: number;
}

function fileStat(stat: fs.Stats): FileStat {
  const kind = stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : 'other';
  return { kind, size: stat.size, mtimeMs: stat.mtimeMs };
}

/** The errno error says the path does not exist (ENOENT). */
export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** A directory's entries, or [] when the directory does not exist; any other failure is StorageError IO_ERROR. */
export async function readdirIfExists(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (cause) {
    if (isMissing(cause)) return [];
    throw ioError('listing', dir, cause);
  }
}

/** readdirIfExists for the synchronous reads (stats, the lease listing). */
export function readdirSyncIfExists(fs: FileSystem, dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (cause) {
    if (isMissing(cause)) return [];
    throw ioError('listing', dir, cause);
  }
}

async function syncPath(path: string, flags: 'r' | number): Promise<void> {
  const handle = await fsp.open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The file's bytes, or null when it does not exist; other failures throw StorageError IO_ERROR. */
export async function readIfExists(fs: FileSystem, path: string, name: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(path);
  } catch (cause) {
    if (isMissing(cause)) return null;
    if (isSymlinkRefusal(cause)) throw new CorruptionError(name, 'is a symbolic link; the database never follows one out of its directory', { cause });
    throw ioError('reading', name, cause);
  }
}

/** Whether two reads of a file (null: absent) saw the same bytes. */
export function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/**
 * Every file the engine opens lies inside the database directory and is never a symbolic link:
 * O_NOFOLLOW makes a link there (a segment replaced by a link to a file elsewhere, say) fail
 * with ELOOP instead of being followed out of the database. The directory itself may be a link.
 * (O_NOFOLLOW is 0 where the platform has none.) 'create' is O_CREAT without O_APPEND: with
 * O_APPEND, Linux ignores pwrite's offset and appends, so a writer at explicit offsets would
 * write after bytes it does not know about.
 */
const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_TRUNC } = fs.constants;
const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const openFlags = { read: O_RDONLY | NOFOLLOW, readwrite: O_RDWR | NOFOLLOW, create: O_RDWR | O_CREAT | NOFOLLOW } as const;

/** Whether a failure is a refused symbolic link (O_NOFOLLOW). */
export function isSymlinkRefusal(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ELOOP';
}

export const nodeFileSystem: FileSystem = {
  openSync(path, mode) {
    const fd = fs.openSync(path, openFlags[mode]);
    return fd;
  },
  writeSync(fd, data, position) {
    let written = 0;
    while (written < data.byteLength) {
      written += fs.writeSync(fd, data, written, data.byteLength - written, position + written);
    }
  },
  readSync(fd, into, position) {
    let total = 0;
    while (total < into.byteLength) {
      const n = fs.readSync(fd, into, total, into.byteLength - total, position + total);
      if (n === 0) break;
      total += n;
    }
    return total;
  },
  async read(fd, into, position) {
    let total = 0;
    while (total < into.byteLength) {
      const n = await new Promise<number>((resolve, reject) => fs.read(fd, into, total, into.byteLength - total, position + total, (err, bytes) => (err ? reject(err) : resolve(bytes))));
      if (n === 0) break;
      total += n;
    }
    return total;
  },
  sizeSync(fd) {
    return fs.fstatSync(fd).size;
  },
  closeSync(fd) {
    fs.closeSync(fd);
  },
  close(fd) {
    return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
  },
  fsync(fd) {
    return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  },
  truncate(fd, length) {
    return new Promise((resolve, reject) => fs.ftruncate(fd, length, (err) => (err ? reject(err) : resolve())));
  },
  readFile(path) {
    return fsp.readFile(path, { flag: O_RDONLY | NOFOLLOW });
  },
  async writeFileSynced(path, chunks) {
    const handle = await fsp.open(path, O_WRONLY | O_CREAT | O_TRUNC | NOFOLLOW);
    try {
      for await (const chunk of chunks) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  syncFile(path) {
    return syncPath(path, O_RDWR | NOFOLLOW);
  },
  rename(from, to) {
    return fsp.rename(from, to);
  },
  unlink(path) {
    return fsp.unlink(path);
  },
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  unlinkDir(path) {
    return fsp.rmdir(path);
  },
  readdir(path) {
    return fsp.readdir(path);
  },
  syncDir(path) {
    return syncPath(path, 'r');
  },
  async exists(path) {
    try {
      await fsp.access(path);
      return true;
    } catch {
      return false;
    }
  },
  async stat(path) {
    try {
      return fileStat(await fsp.lstat(path));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  },
  statSync(path) {
    const stat = fs.lstatSync(path, { throwIfNoEntry: false });
    return stat ? fileStat(stat) : null;
  },
  readdirSync(path) {
    return fs.readdirSync(path);
  },
  readFileSync(path) {
    const fd = fs.openSync(path, O_RDONLY | NOFOLLOW);
    try {
      return fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  realpath(path) {
    return fsp.realpath(path);
  },
  removeTree(path) {
    return fsp.rm(path, { recursive: true, force: true });
  },
  async writeNative(file, write, sync) {
    await fsp.rm(file, { force: true });
    await write(file);
    if (sync) await syncPath(file, O_RDWR | NOFOLLOW);
  },
  makeTempDir(prefix) {
    return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  },
};

const METHODS = [
  ...['openSync', 'writeSync', 'readSync', 'read', 'sizeSync', 'closeSync', 'close', 'fsync', 'truncate', 'readFile', 'writeFileSynced', 'syncFile', 'rename', 'unlink', 'mkdir', 'unlinkDir', 'readdir', 'syncDir', 'exists'],
  ...['stat', 'statSync', 'readdirSync', 'readFileSync', 'realpath', 'removeTree', 'writeNative', 'makeTempDir'],
] as const satisfies readonly (keyof FileSystem)[];

/** `fs` with some calls replaced; every other call goes to `fs` (which may be a class instance). */
export function overlay(fs: FileSystem, overrides: Partial<FileSystem>): FileSystem {
  const out = {} as Record<string, unknown>;
  for (const name of METHODS) out[name] = overrides[name] ?? (fs[name] as (...args: unknown[]) => unknown).bind(fs);
  return out as unknown as FileSystem;
}
