import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeFileSystem, type FileSystem } from '../../src/fs/file-system.js';

/** The calls that change durable state, in the order the engine makes them. */
const MUTATING = ['writeSync', 'fsync', 'truncate', 'writeFileSynced', 'writeNative', 'syncFile', 'rename', 'unlink', 'unlinkDir', 'removeTree', 'mkdir', 'syncDir'] as const;
type Mutating = (typeof MUTATING)[number];

export class InjectedFault extends Error {
  constructor(readonly call: string, readonly n: number, readonly code?: string) {
    super(`injected fault at call ${n} (${call})${code ? `: ${code}` : ''}`);
  }
}

/** What a directory entry was when its directory was last fsynced: absent (null), a file with these durable bytes, or a directory. */
type Before = null | Buffer | { dir: true };

/**
 * Wraps the real filesystem. Counts mutating calls; the `failAt`-th one throws, and from then on
 * every call throws, as if the process had died there. What reached the disk before stays.
 *
 * It also models what a power cut may take away on a real filesystem (POSIX promises no more):
 * - a file's bytes written or truncated since its last fsync: `powerLoss()` puts back the bytes
 *   (and so the size) it had at that fsync, or empty for a file created since;
 * - a directory entry created, replaced, renamed or removed (by create, rename, mkdir, unlink,
 *   rmdir) since that directory was last fsynced: `powerLoss()` rolls it back, so a file fsynced
 *   under a name never made durable is lost, an unsynced rename is undone, and an unsynced
 *   unlink brings the file back.
 * A data fsync is tracked per path (moved along by a rename), not per inode: a file renamed and
 * then fsynced under its new name, whose rename is rolled back, gets the bytes of its last fsync
 * under the old name. Files written behind the seam's back are invisible to it.
 */
export class FaultFileSystem implements FileSystem {
  /** Every mutating call made; `noop` marks one that changed nothing (an unlink of a missing file). */
  calls: { name: Mutating; arg: string; noop?: true }[] = [];
  failAt = Infinity;
  dead = false;
  /** The call the process died at (the `failAt`-th), so a test can check its crash landed where it meant. */
  diedAt: { n: number; name: Mutating } | null = null;
  /**
   * Set (e.g. 'ENOSPC'): from the `failAt`-th mutating call on, every mutating call fails with
   * that errno, as on a full filesystem, while reads and removals keep working (the process is not dead).
   */
  errno: string | null = null;
  /** Per directory, per entry: what it was when the directory was last fsynced. */
  private readonly unsynced = new Map<string, Map<string, Before>>();
  /** Per file with unsynced writes: its bytes as of its last fsync. */
  private readonly unsyncedData = new Map<string, Buffer>();
  private readonly fds = new Map<number, string>();
  /** Directory renames not yet made durable by an fsync of the destination's parent, in order. */
  private dirMoves: { from: string; to: string }[] = [];

  constructor(private readonly inner: FileSystem = nodeFileSystem) {}

  /** Drops every byte and directory change not made durable by an fsync; the process is dead. */
  powerLoss(): void {
    this.dead = true;
    for (const [file, bytes] of this.unsyncedData) {
      if (fs.statSync(file, { throwIfNoEntry: false })?.isFile()) fs.writeFileSync(file, bytes);
    }
    this.unsyncedData.clear();
    // Directory renames are undone first, last first, so the entries inside them are where they were.
    for (const { from, to } of this.dirMoves.reverse()) {
      if (!fs.existsSync(to)) continue;
      if (fs.existsSync(from)) fs.rmSync(from, { recursive: true, force: true });
      fs.renameSync(to, from);
      this.moveInside(to, from);
    }
    this.dirMoves = [];
    const entries = [...this.unsynced].flatMap(([dir, names]) => [...names].map(([name, before]) => ({ file: path.join(dir, name), before })));
    for (const { file, before } of entries) {
      if (before && 'dir' in before) {
        if (!fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
          fs.rmSync(file, { force: true });
          fs.mkdirSync(file);
        }
        continue;
      }
      fs.rmSync(file, { recursive: true, force: true });
      if (before) fs.writeFileSync(file, before);
    }
    this.unsynced.clear();
  }

  /** What is unsynced inside a directory moves with it. */
  private moveInside(a: string, b: string): void {
    const moved = (p: string) => (p === a || p.startsWith(a + path.sep) ? b + p.slice(a.length) : p);
    for (const [dir, names] of [...this.unsynced]) {
      this.unsynced.delete(dir);
      this.unsynced.set(moved(dir), names);
    }
    for (const [file, bytes] of [...this.unsyncedData]) {
      this.unsyncedData.delete(file);
      this.unsyncedData.set(moved(file), bytes);
    }
  }

  /** What `file` holds durably as far as its data goes (its entry aside). */
  private durable(file: string): Before {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) return null;
    if (stat.isDirectory()) return { dir: true };
    return this.unsyncedData.get(file) ?? fs.readFileSync(file);
  }

  /** Records `file`'s entry as it is now, unless an unsynced change already did. */
  /** A removal: what is there is remembered; removing nothing marks the call just made a no-op. */
  private rememberOrNoop(file: string): void {
    if (fs.existsSync(file)) this.remember(file);
    else this.calls[this.calls.length - 1]!.noop = true;
  }

  private remember(file: string, before?: Before): void {
    file = path.resolve(file);
    const dir = path.dirname(file);
    const name = path.basename(file);
    let entries = this.unsynced.get(dir);
    if (!entries) this.unsynced.set(dir, (entries = new Map()));
    if (entries.has(name)) return;
    entries.set(name, before === undefined ? this.durable(file) : before);
  }

  /** Records a file's durable bytes before its first unsynced write. */
  private touch(file: string): void {
    if (!this.unsyncedData.has(file)) this.unsyncedData.set(file, fs.readFileSync(file));
  }

  private synced(file: string | undefined): void {
    if (file !== undefined) this.unsyncedData.delete(file);
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
      this.diedAt = { n: this.calls.length, name };
      throw new InjectedFault(name, this.calls.length);
    }
  }

  private alive(): void {
    if (this.dead) throw new InjectedFault('read', this.calls.length);
  }

  openSync(p: string, mode: 'read' | 'readwrite' | 'create') {
    this.alive();
    const file = path.resolve(p);
    const created = mode === 'create' && !fs.existsSync(file);
    const fd = this.inner.openSync(p, mode);
    if (created) {
      this.remember(file, null);
      this.unsyncedData.set(file, Buffer.alloc(0));
    }
    this.fds.set(fd, file);
    return fd;
  }
  readSync(fd: number, into: Uint8Array, position: number) { this.alive(); return this.inner.readSync(fd, into, position); }
  async read(fd: number, into: Uint8Array, position: number) { this.alive(); return this.inner.read(fd, into, position); }
  sizeSync(fd: number) { this.alive(); return this.inner.sizeSync(fd); }
  closeSync(fd: number) { this.fds.delete(fd); this.inner.closeSync(fd); }
  async close(fd: number) { this.fds.delete(fd); return this.inner.close(fd); }
  // Asynchronous calls fail by rejecting, as the real ones do, never by throwing.
  async readFile(p: string) { this.alive(); return this.inner.readFile(p); }
  async readdir(p: string) { this.alive(); return this.inner.readdir(p); }
  async exists(p: string) { this.alive(); return this.inner.exists(p); }
  async stat(p: string) { this.alive(); return this.inner.stat(p); }
  statSync(p: string) { this.alive(); return this.inner.statSync(p); }
  readdirSync(p: string) { this.alive(); return this.inner.readdirSync(p); }
  readFileSync(p: string) { this.alive(); return this.inner.readFileSync(p); }
  async realpath(p: string) { this.alive(); return this.inner.realpath(p); }
  async makeTempDir(prefix: string) {
    this.alive();
    const dir = await this.inner.makeTempDir(prefix);
    // A new entry in the temp directory, never fsynced: a power cut takes it (and never makes it again).
    this.remember(dir, null);
    return dir;
  }

  writeSync(fd: number, data: Uint8Array, position: number) {
    this.step('writeSync', position);
    const file = this.fds.get(fd);
    if (file !== undefined) this.touch(file);
    this.inner.writeSync(fd, data, position);
  }
  async fsync(fd: number) {
    this.step('fsync', fd);
    await this.inner.fsync(fd);
    this.synced(this.fds.get(fd));
  }
  async truncate(fd: number, length: number) {
    this.step('truncate', length);
    const file = this.fds.get(fd);
    if (file !== undefined) this.touch(file);
    return this.inner.truncate(fd, length);
  }
  async writeFileSynced(p: string, chunks: readonly Uint8Array[] | AsyncIterable<Uint8Array>) {
    this.step('writeFileSynced', p);
    const file = path.resolve(p);
    if (!fs.existsSync(file)) this.remember(file, null);
    await this.inner.writeFileSynced(p, chunks);
    this.synced(file);
  }
  async writeNative(p: string, write: (path: string) => Promise<void>, sync: boolean) {
    this.step('writeNative', p);
    const file = path.resolve(p);
    this.remember(file);
    await this.inner.writeNative(p, write, sync);
    // A new file: until its fsync, what a power cut leaves of it is nothing.
    if (sync) this.synced(file);
    else this.unsyncedData.set(file, Buffer.alloc(0));
  }
  async removeTree(p: string) {
    this.step('removeTree', p);
    const root = path.resolve(p);
    this.rememberOrNoop(root);
    await this.inner.removeTree(p);
    for (const file of this.unsyncedData.keys()) if (file === root || file.startsWith(root + path.sep)) this.unsyncedData.delete(file);
  }
  async syncFile(p: string) {
    this.step('syncFile', p);
    await this.inner.syncFile(p);
    this.synced(path.resolve(p));
  }
  async rename(from: string, to: string) {
    this.step('rename', `${from} -> ${to}`);
    const [a, b] = [path.resolve(from), path.resolve(to)];
    const isDir = fs.statSync(a, { throwIfNoEntry: false })?.isDirectory() ?? false;
    if (isDir) this.dirMoves.push({ from: a, to: b });
    else this.remember(a);
    this.remember(b);
    await this.inner.rename(from, to);
    if (isDir) this.moveInside(a, b);
    // The unsynced bytes move with the file; whatever `to` held is gone.
    const pending = this.unsyncedData.get(a);
    this.unsyncedData.delete(a);
    this.unsyncedData.delete(b);
    if (pending) this.unsyncedData.set(b, pending);
  }
  async unlink(p: string) {
    this.step('unlink', p);
    const file = path.resolve(p);
    this.rememberOrNoop(file);
    await this.inner.unlink(p);
    this.unsyncedData.delete(file);
  }
  async mkdir(p: string) {
    this.step('mkdir', p);
    // mkdir is recursive: every directory it creates is a new entry in its parent.
    for (let dir = path.resolve(p); !fs.existsSync(dir); dir = path.dirname(dir)) this.remember(dir, null);
    return this.inner.mkdir(p);
  }
  async unlinkDir(p: string) {
    this.step('unlinkDir', p);
    if (fs.existsSync(p)) this.remember(p, { dir: true });
    return this.inner.unlinkDir(p);
  }
  async syncDir(p: string) {
    this.step('syncDir', p);
    await this.inner.syncDir(p);
    this.unsynced.delete(path.resolve(p));
    this.dirMoves = this.dirMoves.filter((m) => path.dirname(m.to) !== path.resolve(p));
  }
}
