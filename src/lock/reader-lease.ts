import * as fs from 'node:fs/promises';
import * as fsSync from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileName, TMP_SUFFIX } from '../format/constants.js';
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
}

export interface LeaseStatus extends LeaseInfo {
  file: string;
  refreshedAt: string;
  stale: boolean;
}

const LEASE_SUFFIX = '.lease';

export class ReaderLease {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private info: LeaseInfo,
  ) {}

  /** Takes a lease, or returns null where the directory cannot be written (a read-only mount). */
  static async take(dir: string, info: Omit<LeaseInfo, 'pid' | 'host' | 'openedAt'>, staleMs: number): Promise<ReaderLease | null> {
    const readers = path.join(dir, FileName.readers);
    const name = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}${LEASE_SUFFIX}`;
    const lease = new ReaderLease(path.join(readers, name), { pid: process.pid, host: os.hostname(), openedAt: new Date().toISOString(), ...info });
    try {
      await fs.mkdir(readers, { recursive: true });
      await lease.write();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return null;
      throw err;
    }
    lease.timer = setInterval(() => void lease.renew(), Math.max(500, Math.floor(staleMs / 2)));
    lease.timer.unref();
    return lease;
  }

  /** Records a new position (after a refresh) and renews the lease. */
  update(epoch: number, lsn: number): Promise<void> {
    this.info = { ...this.info, epoch, lsn };
    return this.renew();
  }

  private renew(): Promise<void> {
    this.writing = this.writing.then(() => this.write()).catch(() => undefined);
    return this.writing;
  }

  private async write(): Promise<void> {
    // Lease files are advisory: written through tmp + rename so a reader of the lease never
    // sees half of one, but not fsynced (a lease that vanishes in a power loss is correct).
    const tmp = this.file + TMP_SUFFIX;
    await fs.writeFile(tmp, JSON.stringify(this.info) + '\n');
    await fs.rename(tmp, this.file);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.writing;
    await fs.rm(this.file, { force: true });
  }
}

/** Every lease in the directory with whether it is stale (synchronous: a handful of small files). */
export function listLeases(dir: string, staleMs: number): LeaseStatus[] {
  const readers = path.join(dir, FileName.readers);
  let names: string[];
  try {
    names = fsSync.readdirSync(readers);
  } catch {
    return [];
  }
  const out: LeaseStatus[] = [];
  for (const name of names.filter((n) => n.endsWith(LEASE_SUFFIX)).sort()) {
    const file = path.join(readers, name);
    try {
      const text = fsSync.readFileSync(file, 'utf8');
      const stat = fsSync.statSync(file);
      const info = JSON.parse(text) as LeaseInfo;
      const dead = info.host === os.hostname() && !isAlive(info.pid);
      out.push({ ...info, file: `${FileName.readers}/${name}`, refreshedAt: stat.mtime.toISOString(), stale: dead || Date.now() - stat.mtimeMs > staleMs });
    } catch {
      // removed while we looked, or unreadable: not a live reader
    }
  }
  return out;
}

/** Removes stale leases (and stray tmp files); returns how many leases it removed. */
export async function removeStaleLeases(dir: string, staleMs: number): Promise<number> {
  let removed = 0;
  for (const lease of listLeases(dir, staleMs)) {
    if (!lease.stale) continue;
    await fs.rm(path.join(dir, lease.file), { force: true }).then(() => removed++, () => undefined);
  }
  return removed;
}
