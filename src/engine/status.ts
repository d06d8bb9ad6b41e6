import { CorruptionError, LockedError, StorageError, errnoPath, type QuiverError } from '../errors.js';
import type { DbState } from '../vault/db-state.js';
import type { DatabaseParts } from './open/parts.js';
import { failedByCorruption } from './open/vector-check.js';

export type DatabaseStatus = 'open' | 'closing' | 'closed' | 'failed';

/** A database's status, what failed it, and the check every call makes before it touches the state. */
export class StatusGuard {
  value: DatabaseStatus = 'open';
  /** What failed the database (null while it has not failed). */
  failure: unknown = null;

  constructor(
    private readonly parts: DatabaseParts,
    /** Slots of the write order running now: one taken before close() finishes its work. */
    private readonly slotsRunning: () => number,
  ) {}

  /** The state, after checking the database is open (throws otherwise). */
  readable(): DbState {
    this.check();
    return this.parts.state;
  }

  /** The state, after checking the database is open for writing (throws otherwise). */
  writable(): DbState {
    this.check();
    if (this.parts.options.readOnly) throw new StorageError('READ_ONLY', 'this database was opened read-only');
    return this.parts.state;
  }

  /**
   * Stops the database after an I/O failure left memory and disk in doubt, or after the
   * writer fence found the lock taken over (that LockedError is what the refused write raises).
   * Returns the error to throw.
   */
  fail(cause: unknown): StorageError | LockedError {
    if (this.failure === null && (this.value === 'open' || this.value === 'closing')) {
      if (this.value === 'open') this.value = 'failed';
      this.failure = cause;
      this.parts.wal?.abandon();
    }
    if (cause instanceof LockedError) return cause;
    // The file whose I/O failed, when the cause is an errno error naming one.
    return new StorageError('DATABASE_FAILED', `the database failed and must be reopened: ${(cause as Error)?.message ?? String(cause)}`, { cause, path: errnoPath(cause) });
  }

  /**
   * Damage in stored vectors, found after open: the handle fails (README "Verification"), every
   * call raising CorruptionError naming the file. Nothing was written on top of them: writes
   * wait for the same check.
   */
  failOnDamage(err: QuiverError): void {
    if (this.value !== 'open') return;
    this.value = 'failed';
    this.failure = err;
    this.parts.wal?.abandon();
  }

  private check(): void {
    if (this.value === 'open') return;
    // A slot taken before close() finishes its work (close waits for it).
    if (this.value === 'closing' && this.slotsRunning() > 0 && this.failure === null) return;
    if (this.value === 'failed') {
      if (this.failure instanceof CorruptionError) throw failedByCorruption(this.failure);
      throw new StorageError('DATABASE_FAILED', 'the database failed after an I/O error; close and reopen it', { cause: this.failure, path: errnoPath(this.failure) });
    }
    throw new StorageError('DATABASE_CLOSED', `the database is ${this.value}`);
  }
}
