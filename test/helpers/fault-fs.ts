import { nodeFileSystem, type FileSystem } from '../../src/fs/file-system.js';

/** The calls that change durable state, in the order the engine makes them. */
const MUTATING = ['writeSync', 'fsync', 'truncate', 'writeFileSynced', 'syncFile', 'rename', 'unlink', 'unlinkDir', 'mkdir', 'syncDir'] as const;
type Mutating = (typeof MUTATING)[number];

export class InjectedFault extends Error {
  constructor(readonly call: string, readonly n: number, readonly code?: string) {
    super(`injected fault at call ${n} (${call})${code ? `: ${code}` : ''}`);
  }
}

/**
 * Wraps the real filesystem. Counts mutating calls; the `failAt`-th one throws, and from then on
 * every call throws, as if the process had died there. What reached the disk before stays.
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

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

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

  openSync(p: string, mode: 'read' | 'readwrite' | 'create') { this.alive(); return this.inner.openSync(p, mode); }
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
  async writeFileSynced(p: string, chunks: readonly Uint8Array[]) { this.step('writeFileSynced', p); return this.inner.writeFileSynced(p, chunks); }
  async syncFile(p: string) { this.step('syncFile', p); return this.inner.syncFile(p); }
  async rename(from: string, to: string) { this.step('rename', `${from} -> ${to}`); return this.inner.rename(from, to); }
  async unlink(p: string) { this.step('unlink', p); return this.inner.unlink(p); }
  async mkdir(p: string) { this.step('mkdir', p); return this.inner.mkdir(p); }
  async unlinkDir(p: string) { this.step('unlinkDir', p); return this.inner.unlinkDir(p); }
  async syncDir(p: string) { this.step('syncDir', p); return this.inner.syncDir(p); }
}
