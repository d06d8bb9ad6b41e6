import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeFileSystem, type FileSystem } from '../../src/fs/file-system.js';

/** The calls that change durable state, in the order the engine makes them. */
const MUTATING = ['writeSync', 'fsync', 'truncate', 'writeFileSynced', 'syncFile', 'rename', 'unlink', 'unlinkDir', 'mkdir', 'syncDir'] as const;
type Mutating = (typeof MUTATING)[number];

export class InjectedFault extends Error {
  constructor(readonly call: string, readonly n: number, readonly code?: string) {
    super(`injected fault at call ${n} (${call})${code ? `: ${code}` : ''}`);
  }
}

/** What a directory entry was before an unsynced change: a file's bytes, absent, or a directory. */
type Before = Buffer | null;

/**
 * Wraps the real filesystem. Counts mutating calls; the `failAt`-th one throws, and from then on
 * every call throws, as if the process had died there. What reached the disk before stays.
 *
 * It also remembers every directory entry created, replaced or removed (by a rename, a create,
 * a mkdir) since that directory was last fsynced. `powerLoss()` undoes them, as a power cut
 * may on a real filesystem: a file fsynced under a name that was never made durable by an
 * fsync of its directory is lost, and a rename not followed by one is rolled back.
 */
export class FaultFileSystem implements FileSystem {
  calls: { name: Mutating; arg: string }[] = [];
  failAt = Infinity;
  dead = false;
  /**
   * Set (e.g. 'ENOSPC'): from the `failAt`-th mutating call on, every mutating call fails with
   * that errno, as on a full filesystem, while reads and removals keep working (the process is not dead).
   */
  errno: string | null = null;
  /** Per directory, per entry: what it was when the directory was last fsynced. */
  private readonly unsynced = new Map<string, Map<string, Before>>();

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

  /** Rolls back every directory change not made durable by a directory fsync; the process is dead. */
  powerLoss(): void {
    this.dead = true;
    for (const [dir, entries] of this.unsynced) {
      for (const [name, before] of entries) {
        const file = path.join(dir, name);
        fs.rmSync(file, { recursive: true, force: true });
        if (before) fs.writeFileSync(file, before);
      }
    }
    this.unsynced.clear();
  }

  /** Records `file`'s entry as it is now, unless an unsynced change already did. */
  private remember(file: string): void {
    const dir = path.dirname(path.resolve(file));
    const name = path.basename(file);
    let entries = this.unsynced.get(dir);
    if (!entries) this.unsynced.set(dir, (entries = new Map()));
    if (entries.has(name)) return;
    let before: Before = null;
    try {
      before = fs.statSync(file).isFile() ? fs.readFileSync(file) : null;
    } catch {
      before = null;
    }
    entries.set(name, before);
  }

  private step(name: Mutating, arg: unknown): void {
    if (this.dead) throw new InjectedFault(name, this.calls.length + 1);
    this.calls.push({ name, arg: String(arg) });
    // A full filesystem still lets files be removed: that is how space comes back.
    if (this.calls.length >= this.failAt && this.errno) {
      if (name === 'unlink' || name === 'unlinkDir') return;
      throw new InjectedFault(name, this.calls.length, this.errno);
    }
    if (this.calls.length >= this.failAt) {
      this.dead = true;
      throw new InjectedFault(name, this.calls.length);
    }
  }

  private alive(): void {
    if (this.dead) throw new InjectedFault('read', this.calls.length);
  }

  openSync(p: string, mode: 'read' | 'readwrite' | 'create') {
    this.alive();
    if (mode === 'create' && !fs.existsSync(p)) this.remember(p);
    return this.inner.openSync(p, mode);
  }
  readSync(fd: number, into: Uint8Array, position: number) { this.alive(); return this.inner.readSync(fd, into, position); }
  async read(fd: number, into: Uint8Array, position: number) { this.alive(); return this.inner.read(fd, into, position); }
  sizeSync(fd: number) { this.alive(); return this.inner.sizeSync(fd); }
  closeSync(fd: number) { this.inner.closeSync(fd); }
  readFile(p: string) { this.alive(); return this.inner.readFile(p); }
  readdir(p: string) { this.alive(); return this.inner.readdir(p); }
  exists(p: string) { this.alive(); return this.inner.exists(p); }

  writeSync(fd: number, data: Uint8Array, position: number) { this.step('writeSync', position); this.inner.writeSync(fd, data, position); }
  async fsync(fd: number) { this.step('fsync', fd); return this.inner.fsync(fd); }
  async truncate(fd: number, length: number) { this.step('truncate', length); return this.inner.truncate(fd, length); }
  async writeFileSynced(p: string, chunks: readonly Uint8Array[]) {
    this.step('writeFileSynced', p);
    if (!fs.existsSync(p)) this.remember(p);
    return this.inner.writeFileSynced(p, chunks);
  }
  async syncFile(p: string) { this.step('syncFile', p); return this.inner.syncFile(p); }
  async rename(from: string, to: string) {
    this.step('rename', `${from} -> ${to}`);
    this.remember(from);
    this.remember(to);
    return this.inner.rename(from, to);
  }
  async unlink(p: string) { this.step('unlink', p); return this.inner.unlink(p); }
  async mkdir(p: string) {
    this.step('mkdir', p);
    if (!fs.existsSync(p)) this.remember(p);
    return this.inner.mkdir(p);
  }
  async unlinkDir(p: string) { this.step('unlinkDir', p); return this.inner.unlinkDir(p); }
  async syncDir(p: string) {
    this.step('syncDir', p);
    await this.inner.syncDir(p);
    this.unsynced.delete(path.resolve(p));
  }
}
