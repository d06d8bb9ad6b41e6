// Not through the FileSystem seam: the fence compares nanosecond times of LOCK's open descriptor
// (fstat with bigint), a read-only check the seam has no call for (FORMAT.md "Crash analysis").
import * as fsSync from 'node:fs';
import { LockedError } from '../errors.js';

/**
 * The writer fence (README "One writer, even when a process stalls", FORMAT.md "LOCK").
 *
 * proper-lockfile refreshes the lock's mtime on a timer. A writer whose event loop is blocked
 * past lockStaleMs refreshes nothing, a second process takes the lock over, and the timer that
 * would notice runs only after the blocked writer has gone on writing. So the writer checks,
 * itself, that the lock is still its own at every durability point:
 *
 * - `confirm()` after a log write and before the operation is acknowledged. A new writer
 *   rewrites `LOCK` before it reads anything. So if the check, made after the write, still
 *   finds `LOCK` as this writer left it, the new writer has not read the log yet and will
 *   replay that write; if not, nothing is acknowledged. One check per event-loop
 *   turn covers every write made before it (group confirm, like group commit).
 * - `fresh()` before a file is renamed, replaced or removed (checkpoints): such a step cannot be
 *   checked after the fact, so it also requires the lock to have been refreshed within 60% of
 *   lockStaleMs (it is refreshed every 50%), leaving the rest for the step to finish before
 *   anyone may take over.
 */
export class Fence {
  private lost: LockedError | null = null;
  private pending: Promise<void> | null = null;
  /** LOCK, held open: fstat of a descriptor is the cheapest look at it (no path lookup). */
  private fd: number | null;
  private readonly ours: fsSync.BigIntStats;

  constructor(
    private readonly lockFile: string,
    private readonly lockDir: string,
    private readonly staleMs: number,
  ) {
    this.fd = fsSync.openSync(lockFile, 'r');
    this.ours = fsSync.fstatSync(this.fd, { bigint: true });
  }

  /**
   * Whether `LOCK` is still the file this writer wrote, unchanged. A new writer rewrites it in
   * place before it reads anything (WriterLock.acquire), which changes its modification and
   * change times (it does so at least lockStaleMs after ours); one that removed and recreated
   * it leaves ours unlinked. Once false, false for ever.
   */
  owned(): boolean {
    if (this.lost) return false;
    if (this.fd !== null) {
      try {
        const now = fsSync.fstatSync(this.fd, { bigint: true });
        if (now.nlink > 0n && now.size === this.ours.size && now.mtimeNs === this.ours.mtimeNs && now.ctimeNs === this.ours.ctimeNs) return true;
      } catch {
        // fall through: not ours any more
      }
    }
    this.lost = new LockedError('LOCK_COMPROMISED', `the writer lock (${this.lockFile}) was taken over by another process; nothing more is acknowledged`);
    return false;
  }

  /** Closes LOCK when the lock is released; the fence then reports it lost. */
  close(): void {
    if (this.fd === null) return;
    fsSync.closeSync(this.fd);
    this.fd = null;
  }

  /** Throws LockedError LOCK_COMPROMISED unless the lock is still ours. */
  check(): void {
    if (!this.owned()) throw this.lost!;
  }

  /** Resolves once a check made after this call's caller wrote has found the lock ours. */
  confirm(): Promise<void> {
    this.pending ??= Promise.resolve().then(() => {
      this.pending = null;
      this.check();
    });
    return this.pending;
  }

  /** The lock is ours and was refreshed recently enough for a step that cannot be undone. */
  async fresh(): Promise<void> {
    const started = Date.now();
    for (;;) {
      this.check();
      let mtime: number;
      try {
        mtime = fsSync.statSync(this.lockDir).mtimeMs;
      } catch {
        this.lost ??= new LockedError('LOCK_COMPROMISED', `the writer lock directory ${this.lockDir} is gone`);
        throw this.lost;
      }
      if (Date.now() - mtime < this.staleMs * FRESH_SHARE) return;
      // The event loop was blocked: proper-lockfile's overdue refresh runs on the next turns
      // (or finds the lock taken over and reports it compromised). Wait for one or the other.
      if (Date.now() - started > this.staleMs) {
        this.lost ??= new LockedError('LOCK_COMPROMISED', `the writer lock was not refreshed for ${this.staleMs} ms`);
        throw this.lost;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** How recently (as a share of lockStaleMs) the lock must have been refreshed for `fresh()`. */
const FRESH_SHARE = 0.6;
