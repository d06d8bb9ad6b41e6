import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileName, TMP_SUFFIX } from '../format/constants.js';
import { ioError } from '../errors.js';
import { nodeFileSystem, readdirSyncIfExists, type FileSystem } from '../fs/file-system.js';
import { isAlive } from './liveness.js';

/**
 * The shared lock of a read-only process (FORMAT.md "readers/"): one lease file per open
 * reader, `readers/<host>-<pid>-<random>.lease`, holding what it sees. The reader rewrites it
 * every `staleMs / 2` (and on refresh). A lease is live unless it was not refreshed for
 * `staleMs` or its pid is gone from this host. Leases never hold back the writer: they exist so
 * operators can see readers and so maintenance that replaces the directory can refuse.
 */
export interface LeaseInfo {
  pid: number;
  host: string;
  openedAt: string;
  /** The manifest epoch and LSN this reader's state is at. */
  epoch: number;
  lsn: number;
  /** An external shipper (`quiver replicate`): the writer keeps each log generation it replaces (FORMAT.md "wal.kept/"). */
  ships?: boolean;
}

export interface LeaseStatus extends LeaseInfo {
  file: string;
  refreshedAt: string;
  stale: boolean;
}

const LEASE_SUFFIX = '.lease';

/**
 * Why a lease cannot be written where that is no fault of the reader: a read-only mount, no
 * permission, a full filesystem or quota. The reader then runs without one (reported in stats).
 */
const UNWRITABLE = new Set(['EACCES', 'EROFS', 'EPERM', 'ENOSPC', 'EDQUOT']);

export class ReaderLease {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private released = false;
  /** Null while the lease file is current; otherwise the errno that kept it from being written. */
  private missing: string | null = null;

  private constructor(
    private readonly fs: FileSystem,
    readonly file: string,
    private info: LeaseInfo,
  ) {}

  /**
   * Takes a lease. Where it cannot be written (UNWRITABLE) the reader still opens, without one:
   * `held` is false and `reason` says why, and each renewal tries again. Any other failure is a
   * StorageError.
   */
  static async take(fs: FileSystem, dir: string, info: Omit<LeaseInfo, 'pid' | 'host' | 'openedAt'>, staleMs: number): Promise<ReaderLease> {
    const readers = path.join(dir, FileName.readers);
    const name = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}${LEASE_SUFFIX}`;
    const lease = new ReaderLease(fs, path.join(readers, name), { pid: process.pid, host: os.hostname(), openedAt: new Date().toISOString(), ...info });
    await lease.write();
    lease.timer = setInterval(() => void lease.renew(), Math.max(500, Math.floor(staleMs / 2)));
    lease.timer.unref();
    return lease;
  }

  /** Whether the lease file is in place (false: the reader is invisible to stats and maintenance). */
  get held(): boolean {
    return this.missing === null;
  }

  /** Why the lease is not held (an errno such as ENOSPC), or null. */
  get reason(): string | null {
    return this.missing;
  }

  /** Records a new position (after a refresh) and renews the lease. */
  update(epoch: number, lsn: number): Promise<void> {
    this.info = { ...this.info, epoch, lsn };
    return this.renew();
  }

  private renew(): Promise<void> {
    // Writes are chained, so two never share the tmp file; a failed renewal is retried by the next.
    this.writing = this.writing.then(() => this.write()).catch(() => undefined);
    return this.writing;
  }

  /**
   * Lease files are advisory: written through tmp + rename so a reader of the lease never sees
   * half of one, but not fsynced (a lease that vanishes in a power loss is correct). A failed
   * write removes its tmp file: nothing is left behind, whatever step failed.
   */
  private async write(): Promise<void> {
    if (this.released) return;
    const tmp = this.file + TMP_SUFFIX;
    let fd: number | null = null;
    try {
      await this.fs.mkdir(path.dirname(this.file));
      fd = this.fs.openSync(tmp, 'create');
      await this.fs.truncate(fd, 0);
      this.fs.writeSync(fd, Buffer.from(JSON.stringify(this.info) + '\n'), 0);
      // Forgotten before the close: a failed close(2) has still released the descriptor, and
      // closing its number again could close a file some other code has opened since.
      const written = fd;
      fd = null;
      this.fs.closeSync(written);
      // Released while this write ran: the lease must not come back after release removed it.
      if (this.released) await this.fs.unlink(tmp);
      else await this.fs.rename(tmp, this.file);
      this.missing = null;
    } catch (err) {
      if (fd !== null) this.fs.closeSync(fd);
      await this.fs.unlink(tmp).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (UNWRITABLE.has(code)) {
        this.missing = code;
        return;
      }
      throw ioError('writing the reader lease', this.file, err);
    }
  }

  /** Stops renewing and removes the lease (and any tmp file): once it resolves, readers/ holds nothing of this reader. */
  async release(): Promise<void> {
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A renewal may have been chained while an earlier one ran: wait until the chain is still.
    for (let last = null as Promise<void> | null; last !== this.writing; ) {
      last = this.writing;
      await last;
    }
    await this.fs.unlink(this.file).catch(() => undefined);
    await this.fs.unlink(this.file + TMP_SUFFIX).catch(() => undefined);
  }
}

/**
 * Every lease in the directory with whether it is stale (synchronous: a handful of small files).
 * No readers/ is no reader; a readers/ that cannot be listed is StorageError IO_ERROR, never "no
 * readers": maintenance that replaces the directory must not take it for one nobody reads.
 */
export function listLeases(dir: string, staleMs: number, fs: FileSystem = nodeFileSystem): LeaseStatus[] {
  const readers = path.join(dir, FileName.readers);
  const names = readdirSyncIfExists(fs, readers);
  const out: LeaseStatus[] = [];
  for (const name of names.filter((n) => n.endsWith(LEASE_SUFFIX)).sort()) {
    const file = path.join(readers, name);
    try {
      const text = fs.readFileSync(file).toString('utf8');
      const stat = fs.statSync(file);
      if (stat?.kind !== 'file') continue;
      const info = JSON.parse(text) as LeaseInfo;
      const dead = info.host === os.hostname() && !isAlive(info.pid);
      out.push({ ...info, file: `${FileName.readers}/${name}`, refreshedAt: new Date(stat.mtimeMs).toISOString(), stale: dead || Date.now() - stat.mtimeMs > staleMs });
    } catch {
      // removed while we looked, or unreadable: not a live reader
    }
  }
  return out;
}

/**
 * Removes stale leases, and tmp files left beside them by a reader that died mid-renewal (one
 * whose lease is stale or gone and whose tmp file is older than `staleMs`). Returns how many
 * leases it removed.
 */
export async function removeStaleLeases(dir: string, staleMs: number, fs: FileSystem = nodeFileSystem): Promise<number> {
  let removed = 0;
  const leases = listLeases(dir, staleMs, fs);
  for (const lease of leases) {
    if (!lease.stale) continue;
    await fs.unlink(path.join(dir, lease.file)).then(() => removed++, () => undefined);
  }
  const live = new Set(leases.filter((l) => !l.stale).map((l) => l.file + TMP_SUFFIX));
  const readers = path.join(dir, FileName.readers);
  const names = readdirSyncIfExists(fs, readers);
  for (const name of names.filter((n) => n.endsWith(LEASE_SUFFIX + TMP_SUFFIX))) {
    const rel = `${FileName.readers}/${name}`;
    if (live.has(rel)) continue;
    const file = path.join(readers, name);
    const stat = fs.statSync(file);
    if (stat?.kind === 'file' && Date.now() - stat.mtimeMs > staleMs) await fs.unlink(file).catch(() => undefined);
  }
  return removed;
}
