import { ConfigError, LockedError, QuiverError, StorageError, ValidationError, ioError } from '../errors.js';
import type { Embedder } from '../embedder/embedder.js';
import type { EmbedderOption } from '../embedder/resolve.js';
import type { Identity } from '../format/identity.js';
import type { Vault, VaultInfo } from '../api/vault.js';
import type { VaultHost } from '../api/vault-host.js';
import type { Op } from '../format/records.js';
import type { Durability } from '../wal/wal-writer.js';
import { holdAll, type DbState } from '../vault/db-state.js';
import { batchOps, type BatchOp } from './ops/batch.js';
import { checkOptionTypes, PROGRESS_OPTIONS } from './ops/option-types.js';
import type { Attachment } from './open/attachment.js';
import type { DatabaseCore, DatabaseParts } from './open/parts.js';
import type { RefreshResult } from './open/reader.js';
import { refreshReader } from './open/refresh.js';
import { VectorCheck } from './open/vector-check.js';
import { backupOpen, type BackupResult } from './maintenance/backup.js';
import type { CheckpointResult } from './maintenance/checkpoint.js';
import { compact, type CompactResult } from './maintenance/compact.js';
import { reembed, type ReembedResult } from './maintenance/reembed.js';
import { checkpointNow } from './maintenance/run-checkpoint.js';
import { databaseStats, type DatabaseStats } from './maintenance/stats.js';
import { exportState, type ExportSummary } from './interchange/export.js';
import { importInto } from './interchange/import.js';
import { VaultRegistry } from './registry.js';
import { StatusGuard, type DatabaseStatus } from './status.js';
import { WriteOrder } from './write-queue.js';

/**
 * An open database. Writes are serialised in call order (write-queue.ts): each takes its slot
 * when called and, in it, is validated, framed into the log and applied in memory; it is
 * acknowledged when the log reaches the durability mode's point. Checkpoint, compact, re-embed
 * and close take slots too and hold them while they run; writes called meanwhile wait.
 */
export class Database implements AsyncDisposable {
  /** The status, what failed the database, and the check every call makes first (status.ts). */
  private readonly guard: StatusGuard;
  /** The write order: writes and exclusive operations (checkpoint, compact, re-embed, close). */
  private readonly writes: WriteOrder;
  private closing: Promise<void> | null = null;
  /** The last background (auto-checkpoint) failure, reported in stats. */
  private backgroundError: QuiverError | null = null;
  private readonly registry: VaultRegistry;
  private readonly host: VaultHost;
  /** What the jobs split out of this class (maintenance/, interchange/, open/refresh.ts) reach of it. */
  private readonly core: DatabaseCore;
  private refreshing: Promise<RefreshResult> | null = null;
  /** Set while a backup copies files: checkpoints wait for it (writes do not). */
  private checkpointHold: Promise<unknown> | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  /** The check of stored vectors read after open; what it finds fails the handle (open/vector-check.ts). */
  private readonly vectorCheck: VectorCheck;
  /** Object-storage replication beside this handle (src/replica): a shipper or a follower. */
  private attachment: Attachment | null = null;

  /** @internal */
  constructor(private readonly parts: DatabaseParts) {
    this.guard = new StatusGuard(parts, () => this.writes.slotsRunning);
    this.vectorCheck = new VectorCheck(parts.options.verify, (err) => {
      this.backgroundError ??= err;
      this.guard.failOnDamage(err);
    });
    this.writes = new WriteOrder({
      parts,
      writable: () => this.guard.writable(),
      closing: () => this.guard.value === 'closing',
      fail: (err) => this.fail(err),
      autoCheckpoint: () => (this.guard.value === 'open' ? this.checkpoint() : undefined),
      backgroundFailed: (err) => (this.backgroundError = err),
    });
    this.core = {
      parts,
      attachment: () => this.attachment,
      readable: () => this.guard.readable(),
      writable: () => this.guard.writable(),
      fail: (err) => this.fail(err),
      commitOps: (ops, asBatch) => this.commitOps(ops, asBatch),
    };
    this.readVectors(parts.state);
    this.host = {
      readable: () => this.guard.readable(),
      writable: () => this.guard.writable(),
      maxPayloadBytes: () => this.parts.options.maxPayloadBytes,
      mutate: (build, asBatch) => this.writes.mutate(build, asBatch),
      beforeSearch: async () => {
        await this.vectorCheck.beforeSearch(this.guard.readable());
        this.guard.readable();
      },
      damaged: (err) => this.guard.failOnDamage(err),
      embedder: () => {
        this.guard.readable();
        if (!this.parts.embedder) throw new ConfigError('CONFIG_INVALID', 'embedder', 'this database has no embedder: text needs open(path, { embedder })');
        return this.parts.embedder;
      },
    };
    this.registry = new VaultRegistry(this.host);
    const every = parts.options.refreshIntervalMs;
    if (parts.reader && every > 0) {
      this.refreshTimer = setInterval(() => {
        if (this.guard.value === 'open') this.refresh().catch((err: QuiverError) => (this.backgroundError = err));
      }, every);
      this.refreshTimer.unref();
    }
  }

  get status(): DatabaseStatus {
    return this.guard.value;
  }

  /** The database directory, or null for an in-memory database. */
  get path(): string | null {
    return this.parts.dir;
  }

  /** The text embedder (recorded in TEXT_EMBEDDER.manifest), or null. */
  get embedder(): Embedder | null {
    return this.parts.embedder;
  }

  get identity(): Identity {
    return { ...this.guard.readable().identity };
  }

  get readOnly(): boolean {
    return this.parts.options.readOnly;
  }

  /** The durability mode writes get ('ephemeral' in memory; meaningless read-only). */
  get durability(): Durability {
    return this.parts.dir === null ? 'ephemeral' : this.parts.options.durability;
  }

  // ---- vaults -------------------------------------------------------------------------------

  createVault(name: string, options: { quota?: { maxRecords?: number; maxBytes?: number } } = {}): Promise<Vault> {
    return this.registry.create(name, options);
  }

  dropVault(name: string): Promise<void> {
    return this.registry.drop(name);
  }

  vault(name: string): Vault {
    return this.registry.get(name);
  }

  hasVault(name: string): boolean {
    return this.registry.has(name);
  }

  vaults(): VaultInfo[] {
    return this.registry.list();
  }

  // ---- writes -------------------------------------------------------------------------------

  /** Applies inserts and erases across vaults as one record: all of them or none. */
  async batch(ops: readonly BatchOp[]): Promise<void> {
    if (!Array.isArray(ops)) throw new ValidationError('ops', 'must be an array');
    await this.writes.mutate(() => batchOps(this.guard.readable(), ops, this.parts.options.maxPayloadBytes, (name) => this.registry.number(name)), true);
  }

  /** Logs and applies validated ops now (write-queue.ts); the caller holds a slot. */
  private commitOps(ops: Op[], asBatch: boolean): { lsn: number; durable: Promise<void> | null } {
    return this.writes.commitOps(ops, asBatch);
  }

  /**
   * Resolves when every vault's index has caught up: HNSW insertion runs in the background, and
   * records are found by exact search until their vectors are in the graph (README "Performance").
   */
  async settle(): Promise<void> {
    for (const vault of this.guard.readable().vaults.values()) await vault.index.drain();
  }

  /** relaxed mode: writes buffered records and fsyncs. Other modes: fsyncs the log. */
  async flush(): Promise<void> {
    this.guard.writable();
    try {
      await this.parts.wal?.makeDurable();
    } catch (err) {
      throw this.fail(err);
    }
  }

  // ---- export and import ------------------------------------------------------------------------

  /** Writes the database as JSON Lines into the new directory `dest` (README "Export and import"). */
  async export(dest: string, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<ExportSummary> {
    const state = this.guard.readable();
    checkOptionTypes(options, PROGRESS_OPTIONS);
    // Held: a reader's refresh meanwhile must not unmap the vectors being written out.
    return holdAll(state, () => exportState(state, this.parts.embedder?.manifest ?? null, dest, this.parts.dir, options.onProgress, this.parts.fs));
  }

  /**
   * Reads an export into this database: identity and embedder must match (ConfigError /
   * EmbedderDriftError), and none of its vaults may exist here (ConflictError). Vectors are
   * restored bit for bit, documents keep their lineage, layers and traces their ids and times.
   * Atomic (FORMAT.md "Import"): the import is built beside the live state and committed by one
   * checkpoint; a failure or a crash at any point leaves none of it, a retry starts afresh.
   * Writes wait while it runs.
   */
  async import(source: string, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<ExportSummary> {
    this.guard.writable();
    checkOptionTypes(options, PROGRESS_OPTIONS);
    return this.writes.exclusive(() => importInto(this.core, source, options.onProgress));
  }

  // ---- readers --------------------------------------------------------------------------------

  /**
   * Read-only handles: moves this handle to the latest committed state (README "Readers and backup").
   * Concurrent calls share one refresh. A writer is always current: it returns at once.
   */
  refresh(): Promise<RefreshResult> {
    const state = this.guard.readable();
    const reader = this.parts.reader;
    if (!reader || this.parts.dir === null) return Promise.resolve({ epoch: state.epoch, lsn: state.lastLsn, appliedRecords: 0 });
    this.refreshing ??= refreshReader(this.core, reader, (next) => this.readVectors(next)).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Starts the check of the state's stored vectors, now that opening is done (open/vector-check.ts). */
  private readVectors(state: DbState): void {
    this.vectorCheck.start(state);
  }

  // ---- checkpoint and compaction --------------------------------------------------------------

  async checkpoint(): Promise<CheckpointResult> {
    this.guard.writable();
    while (this.checkpointHold) await this.checkpointHold.catch(() => undefined);
    return this.writes.exclusive(() => checkpointNow(this.core));
  }

  /**
   * Copies the database into the new directory `dest` while writes go on (README "Readers and backup").
   * The copy opens on its own and holds exactly the operations up to the returned LSN.
   */
  async backup(dest: string): Promise<BackupResult> {
    this.guard.readable();
    const dir = this.parts.dir;
    if (dir === null) throw new StorageError('IO_ERROR', 'an in-memory database has no files to back up');
    while (this.checkpointHold) await this.checkpointHold.catch(() => undefined);
    const run = backupOpen(this.core, dir, dest);
    this.checkpointHold = run;
    try {
      return await run;
    } finally {
      this.checkpointHold = null;
    }
  }

  /** Rebuilds every vault's index from its records (erased records leave no trace), then checkpoints. */
  async compact(): Promise<CompactResult> {
    this.guard.writable();
    return this.writes.exclusive(() => compact(this.core));
  }

  /**
   * Re-embeds every document record with a new embedder and switches the database to it
   * (README "Re-embedding"): new vectors and lineage, a new TEXT_EMBEDDER.manifest, and a new
   * dimension if the embedder has one. Crash-safe: until the switch commits, the database
   * reopens with the old embedder and vectors. Writes wait while it runs.
   */
  async reembed(option: EmbedderOption, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<ReembedResult> {
    this.guard.writable();
    checkOptionTypes(options, PROGRESS_OPTIONS);
    // Created inside the slot: writes called after reembed() see the new vector space.
    return this.writes.exclusive(() => reembed(this.core, option, options.onProgress));
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Attaches replication (src/replica/open.ts); its status becomes stats().replication. */
  /** @internal */
  attach(attachment: Attachment): void {
    this.attachment = attachment;
  }

  stats(): DatabaseStats {
    const state = this.guard.readable();
    const replication = this.attachment?.status(state.lastLsn);
    return databaseStats(this.parts, state, { status: this.guard.value, durability: this.durability, replication, backgroundError: this.backgroundError });
  }

  /** Flushes the log (relaxed mode's buffer included), closes it and releases the lock. Idempotent. */
  close(): Promise<void> {
    if (this.guard.value === 'closed') return Promise.resolve();
    if (this.closing) return this.closing;
    const failed = this.guard.value === 'failed';
    this.guard.value = 'closing';
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.closing = (async () => {
      let error: unknown = null;
      try {
        await this.refreshing?.catch(() => undefined);
        // A background read that failed does not stop the log closing (it is reported below,
        // unless the handle had already failed: a call has raised the damage by then).
        for (const read of await Promise.allSettled(this.vectorCheck.inFlight)) if (read.status === 'rejected' && !failed) error ??= read.reason;
        await this.parts.reader?.lease?.release();
        if (!failed) {
          await this.writes.checkpointing;
          // After every write called before close(); one of them may still fail the database.
          await this.writes.last(async () => (this.guard.failure === null ? this.parts.wal?.close() : this.parts.wal?.abandon()));
        } else {
          this.parts.wal?.abandon();
        }
      } catch (err) {
        error = err;
      } finally {
        // After the log is closed, relaxed mode's buffer written: a shipper's last round reads
        // every acknowledged write. Before the lock goes: no next writer can touch the log under it.
        await this.attachment?.close().catch((err: unknown) => (error ??= err));
        await this.parts.lock?.unlock().catch((err: unknown) => (error ??= err));
        this.guard.value = 'closed';
        // Mapped graphs and vectors are unmapped now rather than whenever garbage collection gets
        // to them; a search or export already under way over a vault finishes first (as without the addon).
        for (const vault of this.parts.state.vaults.values()) vault.retire();
      }
      if (error) throw error instanceof QuiverError ? error : ioError('closing', this.parts.dir ?? ':memory:', error);
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal Stops the database after a failure that left memory and disk in doubt (status.ts); returns the error to throw. */
  fail(cause: unknown): StorageError | LockedError {
    return this.guard.fail(cause);
  }
}
