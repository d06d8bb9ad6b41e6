import type { LockedError, StorageError } from '../../errors.js';
import type { Embedder } from '../../embedder/embedder.js';
import type { Op } from '../../format/records.js';
import type { FileSystem } from '../../fs/file-system.js';
import type { ReaderLease } from '../../lock/reader-lease.js';
import type { WriterLock } from '../../lock/writer-lock.js';
import type { DbState } from '../../vault/db-state.js';
import type { WalWriter } from '../../wal/wal-writer.js';
import type { Attachment } from './attachment.js';
import type { RecoveryReport } from './replay.js';
import type { ResolvedOptions } from './options.js';
import type { ReaderView } from './reader.js';

/** What a read-only process keeps to follow the writer. */
export interface ReaderParts {
  view: ReaderView;
  lease: ReaderLease | null;
}

/** What open() assembles and a Database runs on. */
export interface DatabaseParts {
  dir: string | null;
  fs: FileSystem;
  options: ResolvedOptions;
  /** Replaced wholesale when a reader reloads after a checkpoint. */
  state: DbState;
  wal: WalWriter | null;
  lock: WriterLock | null;
  reader: ReaderParts | null;
  /** Replaced by reembed() (writer) or by a refresh that finds a new embedder (reader). */
  embedder: Embedder | null;
  recovery: RecoveryReport | null;
}

/**
 * @internal What the jobs split out of Database (checkpoint, compact, re-embed, import, refresh)
 * reach of it. They run in an exclusive slot of the write order, or (refresh) on a reader.
 */
export interface DatabaseCore {
  readonly parts: DatabaseParts;
  /** Object-storage replication attached to the handle, if any. */
  attachment(): Attachment | null;
  /** The state, after checking the database is open (throws otherwise). */
  readable(): DbState;
  /** The state, after checking the database is open for writing (throws otherwise). */
  writable(): DbState;
  /** Stops the database after a failure that left memory and disk in doubt; returns the error to throw. */
  fail(cause: unknown): StorageError | LockedError;
  /** Logs and applies validated ops now (the caller holds a slot); their LSN and durability promise. */
  commitOps(ops: Op[], asBatch: boolean): { lsn: number; durable: Promise<void> | null };
}
