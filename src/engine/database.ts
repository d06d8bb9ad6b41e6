import * as path from 'node:path';
import { ConfigError, ConflictError, CorruptionError, LockedError, NotFoundError, StorageError, ValidationError, ioError, type QuiverError } from '../errors.js';
import type { Embedder } from '../embedder/embedder.js';
import { createEmbedder, readEmbedderManifest, rehydrate, type EmbedderOption } from '../embedder/resolve.js';
import { commitReembed, INTENT, reembedState, type ReembedResult } from './reembed.js';
import { FileName, MAX_FRAME_BODY } from '../format/constants.js';
import type { Identity } from '../format/identity.js';
import type { FileSystem } from '../fs/file-system.js';
import { writerStatus, type WriterLock } from '../lock/writer-lock.js';
import { listLeases, removeStaleLeases, type ReaderLease } from '../lock/reader-lease.js';
import { backupDirectory, type BackupResult } from './backup.js';
import { refreshView, type ReaderView, type RefreshResult } from './reader.js';
import { RecordStore } from '../vault/record-store.js';
import type { Vault, VaultInfo } from '../vault/vault.js';
import { createIndex } from '../vault/vault-state.js';
import { nextTurn, overdue } from './loop-turns.js';
import { MAX_QUEUED } from '../vault/index/hnsw-index.js';
import { encodeRecord, type Op } from '../wal/records.js';
import { keepLogForShippers } from '../wal/kept-log.js';
import { truncateLogFile } from '../wal/wal-file.js';
import type { Durability, WalWriter } from '../wal/wal-writer.js';
import { applyOp } from './apply.js';
import { WriteQueue } from './write-queue.js';
import { checkOptionTypes, PROGRESS_OPTIONS, VAULT_OPTIONS } from './option-types.js';
import { referencedFiles, removeUnreferenced, writeSegmentedCheckpoint, writeSnapshotCheckpoint, type CheckpointResult } from './checkpoint.js';
import type { ResolvedOptions } from './options.js';
import type { RecoveryReport } from './recovery.js';
import { releaseVectors, vectorsLoaded, type DbState } from './state.js';
import { failedByCorruption, VectorCheck } from './vector-check.js';
import { collectStats, type DatabaseStats } from './stats.js';
import { checkQuota, checkQuotas, checkVaultName, checkId } from './validate.js';
import { insertOp, VaultHandle, type VaultHost } from './vault-handle.js';
import type { ReplicationStatus } from './stats.js';
import { recordBatchOp, RecordView, type RecordBatchOp } from './record-ops.js';
import { exportState, type ExportSummary } from './export.js';
import { stageImport } from './import.js';
import { branchCreateOp, branchDeleteOp, branchUpdateOp, layerCommitOp, pendingFor, tracePutOp, type CommitInput, type Pending, type TraceOptions } from './history-ops.js';
import { byCodeUnits } from '../util/code-units.js';

export type DatabaseStatus = 'open' | 'closing' | 'closed' | 'failed';

export type BatchOp =
  | { op: 'insert'; vault: string; id: string; vector: Float32Array | readonly number[]; payload?: Record<string, unknown> | null }
  | { op: 'erase'; vault: string; id: string }
  | ({ op: 'layer.commit'; vault: string } & CommitInput)
  | { op: 'branch.create'; vault: string; name: string; from?: string | null }
  | { op: 'branch.update'; vault: string; name: string; head: string | null; expectedHead?: string | null }
  | { op: 'branch.delete'; vault: string; name: string; force?: boolean }
  | ({ op: 'trace.put'; vault: string; key: string; trace: unknown } & TraceOptions)
  | { op: 'trace.delete'; vault: string; key: string }
  | RecordBatchOp;

export interface CompactResult extends CheckpointResult {
  /** Graph slots of erased records that the rebuild dropped. */
  slotsFreed: number;
  /** Layers no branch reached, collected. */
  layersFreed: number;
}

/** What a read-only process keeps to follow the writer. */
export interface ReaderParts {
  view: ReaderView;
  lease: ReaderLease | null;
}

/** @internal What object-storage replication (src/replica) hooks into a handle: the log before a checkpoint resets it, a reader's refresh, stats, close. */
export interface Attachment {
  beforeLogReset?(): Promise<void>;
  beforeRefresh?(): Promise<void>;
  status(lastLsn: number): ReplicationStatus;
  close(): Promise<void>;
}

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
 * An open database. Writes are serialised in call order (write-queue.ts): each takes its slot
 * when called and, in it, is validated, framed into the log and applied in memory; it is
 * acknowledged when the log reaches the durability mode's point. Checkpoint, compact, re-embed
 * and close take slots too and hold them while they run; writes called meanwhile wait.
 */
export class Database implements AsyncDisposable {
  private statusValue: DatabaseStatus = 'open';
  private failure: unknown = null;
  /** The write order: writes and exclusive operations (checkpoint, compact, re-embed, close). */
  private readonly queue = new WriteQueue();
  /** Slots running now (inSlot). */
  private slotsRunning = 0;
  private closing: Promise<void> | null = null;
  private autoCheckpoint: Promise<unknown> | null = null;
  /** The last background (auto-checkpoint) failure, reported in stats. */
  private backgroundError: QuiverError | null = null;
  private readonly handles = new Map<number, VaultHandle>();
  private readonly host: VaultHost;
  private refreshing: Promise<RefreshResult> | null = null;
  /** Set while a backup copies files: checkpoints wait for it (writes do not). */
  private checkpointHold: Promise<unknown> | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Whether every stored vector has matched its checksum since open (writes wait for it). */
  private storedChecked = false;
  /** The check of stored vectors read after open; what it finds fails the handle (vector-check.ts). */
  private readonly vectorCheck: VectorCheck;
  /** Object-storage replication beside this handle (src/replica): a shipper or a follower. */
  private attachment: Attachment | null = null;

  /** @internal */
  constructor(private readonly parts: DatabaseParts) {
    this.vectorCheck = new VectorCheck(parts.options.verify, (err) => this.failOnDamage(err));
    this.readVectors(parts.state);
    this.host = {
      readable: () => this.readable(),
      writable: () => this.writable(),
      maxPayloadBytes: () => this.parts.options.maxPayloadBytes,
      mutate: (build, asBatch) => this.mutate(build, asBatch),
      beforeSearch: async () => {
        await this.vectorCheck.beforeSearch(this.readable());
        this.readable();
      },
      embedder: () => {
        this.readable();
        if (!this.parts.embedder) throw new ConfigError('CONFIG_INVALID', 'embedder', 'this database has no embedder: text needs open(path, { embedder })');
        return this.parts.embedder;
      },
    };
    const every = parts.options.refreshIntervalMs;
    if (parts.reader && every > 0) {
      this.refreshTimer = setInterval(() => {
        if (this.statusValue === 'open') this.refresh().catch((err: QuiverError) => (this.backgroundError = err));
      }, every);
      this.refreshTimer.unref();
    }
  }

  get status(): DatabaseStatus {
    return this.statusValue;
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
    return { ...this.readable().identity };
  }

  get readOnly(): boolean {
    return this.parts.options.readOnly;
  }

  /** The durability mode writes get ('ephemeral' in memory; meaningless read-only). */
  get durability(): Durability {
    return this.parts.dir === null ? 'ephemeral' : this.parts.options.durability;
  }

  // ---- vaults -------------------------------------------------------------------------------

  async createVault(name: string, options: { quota?: { maxRecords?: number; maxBytes?: number } } = {}): Promise<Vault> {
    let number = 0;
    checkOptionTypes(options, VAULT_OPTIONS, { closed: true });
    await this.mutate(() => {
      const state = this.readable();
      checkVaultName(name);
      const quota = checkQuota(options?.quota);
      if (state.names.has(name)) throw new ConflictError('ALREADY_EXISTS', `vault "${name}" already exists`);
      number = state.nextVaultNumber;
      return [{ type: 'vaultCreate', vault: number, name, quota }];
    }, false);
    // The vault this call created, even if a write called after it has dropped it by now.
    return this.handle(number, name);
  }

  async dropVault(name: string): Promise<void> {
    await this.mutate(() => [{ type: 'vaultDrop', vault: this.vaultNumber(name) }], false);
  }

  vault(name: string): Vault {
    return this.handle(this.vaultNumber(name), name);
  }

  private handle(number: number, name: string): Vault {
    let handle = this.handles.get(number);
    if (!handle) {
      handle = new VaultHandle(this.host, number, name);
      this.handles.set(number, handle);
    }
    return handle;
  }

  hasVault(name: string): boolean {
    return this.readable().names.has(name);
  }

  vaults(): VaultInfo[] {
    return [...this.readable().vaults.values()]
      .sort((a, b) => byCodeUnits(a.name, b.name))
      .map((v) => v.info());
  }

  private vaultNumber(name: string): number {
    checkVaultName(name, 'vault');
    const number = this.readable().names.get(name);
    if (number === undefined) throw new NotFoundError('vault', `vault "${name}" does not exist`);
    return number;
  }

  // ---- writes -------------------------------------------------------------------------------

  /** Applies inserts and erases across vaults as one record: all of them or none. */
  async batch(ops: readonly BatchOp[]): Promise<void> {
    if (!Array.isArray(ops)) throw new ValidationError('ops', 'must be an array');
    await this.mutate(() => {
      const state = this.readable();
      const max = this.parts.options.maxPayloadBytes;
      const pending = new Map<number, Pending>();
      const view = new RecordView();
      return ops.map((o, i): Op => {
        const at = `ops[${i}].`;
        if (typeof o !== 'object' || o === null) throw new ValidationError(`ops[${i}]`, 'must be an object');
        const number = this.vaultNumber(o.vault);
        const vault = state.vaults.get(number)!;
        if (!pending.has(number)) pending.set(number, pendingFor(vault));
        const p = pending.get(number)!;
        switch (o.op) {
          case 'insert':
            return view.note(insertOp(state, number, o.id, o.vector, o.payload, max, at));
          case 'erase':
            return view.note({ type: 'erase', vault: number, id: checkId(o.id, `${at}id`) });
          case 'patch':
          case 'eraseWhere':
          case 'patchWhere':
            return recordBatchOp(view, vault, o, max, state.identity.dimension, at);
          case 'layer.commit':
            return layerCommitOp(vault, p, o, max);
          case 'branch.create':
            return branchCreateOp(vault, p, o.name, o.from ?? null);
          case 'branch.update':
            return branchUpdateOp(vault, p, o.name, o.head, o.expectedHead);
          case 'branch.delete':
            return branchDeleteOp(vault, p, o.name, o.force ?? false);
          case 'trace.put':
            return tracePutOp(vault, o.key, o.trace, o, max);
          case 'trace.delete':
            return { type: 'traceDelete', vault: number, key: checkId(o.key, `${at}key`) };
          default:
            throw new ValidationError(`${at}op`, 'is not a known operation');
        }
      });
    }, true);
  }

  /**
   * Takes the write's slot in the write order now (write-queue.ts) and, in it, waits for what a
   * write waits for, runs `build` (which may prepare asynchronously), then logs and applies the
   * ops. Resolves with their LSN once the log reaches the durability mode's point.
   */
  private mutate(build: () => Op[] | Promise<Op[]>, asBatch: boolean): Promise<number | null> {
    try {
      // At call time a closing database takes no new write (slots taken earlier still run).
      if (this.statusValue === 'closing') throw new StorageError('DATABASE_CLOSED', 'the database is closing');
      this.writable();
    } catch (err) {
      return Promise.reject(err);
    }
    const committed = this.queue.run(() => this.inSlot(async () => {
      // Nothing is written on top of a segment until its vectors, read after open, have matched
      // their checksum: damage there refuses writes (CorruptionError) before any reaches the log.
      if (!this.storedChecked) {
        await vectorsLoaded(this.parts.state);
        this.storedChecked = true;
        this.writable();
      }
      // Back-to-back writes on microtasks would never let the event loop turn (loop-turns.ts).
      if (overdue()) {
        await nextTurn();
        this.writable();
      }
      // Backpressure: while a vault's graph has a long insertion queue, writes wait for it to
      // drain (in slices, the event loop turning between them) instead of growing it further.
      for (const vault of this.parts.state.vaults.values()) {
        if ((vault.index.queued ?? 0) > MAX_QUEUED) {
          await vault.index.drain();
          this.writable();
        }
      }
      const ops = await build();
      this.writable();
      return ops.length === 0 ? null : this.commitOps(ops, asBatch);
    }));
    return committed.then(async (done) => {
      if (!done) return null;
      if (done.durable) {
        try {
          await done.durable;
        } catch (err) {
          throw this.fail(err);
        }
      }
      return done.lsn;
    });
  }

  /**
   * Runs a slot's work. A slot taken before close() still runs (close's own slot comes after
   * it), so while one runs the state stays readable and writable through 'closing'.
   */
  private async inSlot<T>(fn: () => Promise<T>): Promise<T> {
    this.slotsRunning++;
    try {
      return await fn();
    } finally {
      this.slotsRunning--;
    }
  }

  /** Logs and applies validated ops; returns their LSN and the log's durability promise (null without a log). */
  private commitOps(ops: Op[], asBatch: boolean): { lsn: number; durable: Promise<void> | null } {
    const state = this.parts.state;
    checkQuotas(state, ops);
    const lsn = state.lastLsn + 1;
    const wal = this.parts.wal;
    if (wal) {
      const { type, body } = encodeRecord(ops, asBatch);
      if (body.byteLength > MAX_FRAME_BODY) throw new ValidationError('ops', `encode to ${body.byteLength} bytes, over the ${MAX_FRAME_BODY}-byte record limit; split them`);
      try {
        wal.append(type, lsn, body);
      } catch (err) {
        throw this.fail(err);
      }
    }
    state.lastLsn = lsn;
    try {
      for (const op of ops) {
        if (!applyOp(state, op, lsn)) throw new StorageError('DATABASE_FAILED', `a logged ${op.type} operation (LSN ${lsn}) could not be applied in memory`);
      }
    } catch (err) {
      // The record is logged but memory holds only part of it (or none): stop, and let reopen
      // replay it whole. Memory never goes on diverging from the log.
      throw this.fail(err);
    }
    this.maybeAutoCheckpoint();
    return { lsn, durable: wal ? wal.durable() : null };
  }

  /**
   * Logged housekeeping before a checkpoint: traces past their vault's retention (oldest first)
   * and, when compacting, layers no branch reaches. Logged, not just dropped from memory, so
   * readers following the log see it too.
   */
  private async housekeeping(collectLayers: boolean): Promise<{ traces: number; layers: number }> {
    const ops: Op[] = [];
    const now = Date.now();
    let traces = 0;
    let layers = 0;
    for (const vault of this.parts.state.vaults.values()) {
      for (const key of vault.traces.expired(now)) ops.push({ type: 'traceDelete', vault: vault.number, key }), traces++;
      if (collectLayers) for (const id of vault.layers.unreachable()) ops.push({ type: 'layerDrop', vault: vault.number, id }), layers++;
    }
    if (ops.length > 0) {
      try {
        await this.commitOps(ops, true).durable;
      } catch (err) {
        throw this.fail(err);
      }
    }
    return { traces, layers };
  }

  /**
   * Resolves when every vault's index has caught up: HNSW insertion runs in the background, and
   * records are found by exact search until their vectors are in the graph (README "Performance").
   */
  async settle(): Promise<void> {
    for (const vault of this.readable().vaults.values()) await vault.index.drain();
  }

  /** relaxed mode: writes buffered records and fsyncs. Other modes: fsyncs the log. */
  async flush(): Promise<void> {
    this.writable();
    try {
      await this.parts.wal?.makeDurable();
    } catch (err) {
      throw this.fail(err);
    }
  }

  // ---- export and import ------------------------------------------------------------------------

  /** Writes the database as JSON Lines into the new directory `dest` (README "Export and import"). */
  async export(dest: string, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<ExportSummary> {
    const state = this.readable();
    checkOptionTypes(options, PROGRESS_OPTIONS);
    return exportState(state, this.parts.embedder?.manifest ?? null, dest, this.parts.dir, options.onProgress, this.parts.fs);
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
    this.writable();
    checkOptionTypes(options, PROGRESS_OPTIONS);
    return this.exclusive(async () => {
      const { dir, fs } = this.parts;
      await vectorsLoaded(this.parts.state);
      // The log is emptied first: the import's checkpoint then covers everything it held.
      if (dir) await this.checkpointLocked();
      const { staged, summary } = await stageImport(this.parts.state, source, this.parts.embedder?.manifest ?? null, this.parts.options.maxPayloadBytes, options.onProgress);
      if (dir) {
        const epochBefore = staged.epoch;
        try {
          await (staged.identity.storage === 'snapshot' ? writeSnapshotCheckpoint(fs, dir, staged) : writeSegmentedCheckpoint(fs, dir, staged));
        } catch (err) {
          // Before the root's rename nothing of the import is visible; after it, memory lags disk.
          if (staged.epoch !== epochBefore) throw this.fail(err);
          throw err instanceof StorageError ? err : ioError('importing into', dir, err);
        }
        this.parts.state = staged;
        await this.truncateLog().catch((err: unknown) => {
          throw this.fail(err);
        });
      } else {
        this.parts.state = staged;
      }
      return summary;
    });
  }

  // ---- readers --------------------------------------------------------------------------------

  /**
   * Read-only handles: moves this handle to the latest committed state (README "Readers and backup").
   * Concurrent calls share one refresh. A writer is always current: it returns at once.
   */
  refresh(): Promise<RefreshResult> {
    const state = this.readable();
    const reader = this.parts.reader;
    if (!reader || this.parts.dir === null) return Promise.resolve({ epoch: state.epoch, lsn: state.lastLsn, appliedRecords: 0 });
    this.refreshing ??= (async () => {
      try {
        await this.attachment?.beforeRefresh?.();
        const next = await refreshView(this.parts.fs, this.parts.dir!, reader.view);
        const before = this.parts.state.lastLsn;
        const reloaded = next.state !== this.parts.state;
        let embedder: Embedder | null;
        try {
          this.readable();
          embedder = reloaded ? await this.currentEmbedder() : this.parts.embedder;
          this.readable();
          // One synchronous step: apply the pending records and install the view.
          next.commit();
        } catch (err) {
          if (reloaded) releaseVectors(next.state);
          throw err;
        }
        this.parts.state = next.state;
        this.parts.embedder = embedder;
        reader.view = { state: next.state, walOffset: next.walOffset, walSalt: next.walSalt, root: next.root };
        this.readVectors(next.state);
        const { epoch, lastLsn } = next.state;
        await reader.lease?.update(epoch, lastLsn);
        return { epoch, lsn: lastLsn, appliedRecords: Math.max(0, lastLsn - before) };
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** Starts the check of the state's stored vectors, now that opening is done (vector-check.ts). */
  private readVectors(state: DbState): void {
    this.vectorCheck.start(state);
  }

  /** A reader's embedder after a reload: the same one, or the recorded one if it changed. */
  private async currentEmbedder(): Promise<Embedder | null> {
    const stored = await readEmbedderManifest(this.parts.fs, this.parts.dir!);
    if (!stored) return this.parts.embedder;
    if (this.parts.embedder?.manifest.fingerprint === stored.fingerprint) return this.parts.embedder;
    return rehydrate(this.parts.fs, this.parts.dir!, stored);
  }

  // ---- checkpoint and compaction --------------------------------------------------------------

  async checkpoint(): Promise<CheckpointResult> {
    this.writable();
    while (this.checkpointHold) await this.checkpointHold.catch(() => undefined);
    return this.exclusive(() => this.checkpointLocked());
  }

  /**
   * Copies the database into the new directory `dest` while writes go on (README "Readers and backup").
   * The copy opens on its own and holds exactly the operations up to the returned LSN.
   */
  async backup(dest: string): Promise<BackupResult> {
    this.readable();
    const dir = this.parts.dir;
    if (dir === null) throw new StorageError('IO_ERROR', 'an in-memory database has no files to back up');
    while (this.checkpointHold) await this.checkpointHold.catch(() => undefined);
    const run = (async () => {
      if (this.parts.wal) {
        try {
          await this.parts.wal.makeDurable();
        } catch (err) {
          throw this.fail(err);
        }
      }
      return backupDirectory(this.parts.fs, dir, dest);
    })();
    this.checkpointHold = run;
    try {
      return await run;
    } finally {
      this.checkpointHold = null;
    }
  }

  private async checkpointLocked(collectLayers = false): Promise<CheckpointResult & { layersFreed: number }> {
    const { dir, fs, state } = this.parts;
    if (dir === null) {
      const freed = await this.housekeeping(collectLayers);
      return { epoch: state.epoch, lsn: state.lastLsn, vaultsWritten: 0, bytesWritten: 0, filesRemoved: 0, tracesExpired: freed.traces, layersFreed: freed.layers };
    }
    const epochBefore = state.epoch;
    // Damaged stored vectors stop the checkpoint as they are (CorruptionError), before housekeeping logs anything.
    await vectorsLoaded(state);
    const freed = await this.housekeeping(collectLayers);
    try {
      const result = state.identity.storage === 'snapshot' ? await writeSnapshotCheckpoint(fs, dir, state) : await writeSegmentedCheckpoint(fs, dir, state);
      await this.attachment?.beforeLogReset?.();
      if (this.parts.wal) await keepLogForShippers(this.parts.wal, dir, this.parts.options.lockStaleMs, result.lsn);
      await this.truncateLog();
      await removeStaleLeases(dir, this.parts.options.lockStaleMs, this.parts.fs).catch(() => undefined);
      return { ...result, tracesExpired: freed.traces, layersFreed: freed.layers };
    } catch (err) {
      // Before the commit point the old checkpoint and the full log still stand: the database
      // stays usable. After it, memory and disk may disagree about the log: stop. A writer
      // fenced off (its lock taken over) stops either way.
      if (state.epoch !== epochBefore || err instanceof LockedError) throw this.fail(err);
      throw err instanceof StorageError ? err : ioError('checkpoint of', dir, err);
    }
  }

  private async truncateLog(): Promise<void> {
    const { dir, fs, wal } = this.parts;
    if (wal) return wal.reset();
    // ephemeral: no writer, but a log left by an earlier session is now covered by the checkpoint.
    await truncateLogFile(fs, path.join(dir!, FileName.wal));
  }

  /** Rebuilds every vault's index from its records (erased records leave no trace), then checkpoints. */
  async compact(): Promise<CompactResult> {
    this.writable();
    return this.exclusive(async () => {
      const state = this.parts.state;
      await vectorsLoaded(state);
      let slotsFreed = 0;
      for (const vault of state.vaults.values()) {
        const records = [...vault.records.values()].sort((a, b) => a.label - b.label);
        const before = vault.index.elementCount;
        const store = new RecordStore(vault.dimension);
        const index = createIndex(state.identity.index, state.identity.metric, vault.dimension);
        records.forEach((r, label) => {
          store.put(r.with({ label }));
          index.add(label, r.vector);
        });
        await index.drain();
        slotsFreed += Math.max(0, before - records.length);
        vault.records = store;
        vault.index = index;
        vault.reindexPayloads();
        vault.segmentLsn = -1;
      }
      return { ...(await this.checkpointLocked(true)), slotsFreed };
    });
  }

  /**
   * Re-embeds every document record with a new embedder and switches the database to it
   * (README "Re-embedding"): new vectors and lineage, a new TEXT_EMBEDDER.manifest, and a new
   * dimension if the embedder has one. Crash-safe: until the switch commits, the database
   * reopens with the old embedder and vectors. Writes wait while it runs.
   */
  async reembed(option: EmbedderOption, options: { onProgress?: (done: number, total: number) => void } = {}): Promise<ReembedResult> {
    this.writable();
    checkOptionTypes(options, PROGRESS_OPTIONS);
    // Created inside the slot: writes called after reembed() see the new vector space.
    return this.exclusive(async () => {
      const embedder = await createEmbedder(option);
      this.writable();
      const { dir, fs } = this.parts;
      if (dir) await this.checkpointLocked();
      const { state, documents } = await reembedState(this.parts.state, embedder, options.onProgress);
      if (dir) {
        try {
          await commitReembed(fs, dir, state, embedder, this.parts.embedder?.manifest.artifact ?? null);
        } catch (err) {
          // Committed (the intent exists) but not finished: only a reopen can finish it.
          if (await fs.exists(path.join(dir, INTENT)).catch(() => true)) throw this.fail(err);
          throw err instanceof StorageError ? err : ioError('re-embedding', dir, err);
        }
        await removeUnreferenced(fs, dir, referencedFiles(state)).catch(() => undefined);
      }
      this.parts.state = state;
      this.parts.embedder = embedder;
      return { documents, vaults: state.vaults.size, dimension: embedder.dimension, epoch: state.epoch, lsn: state.lastLsn };
    });
  }

  /** Runs `fn` alone, in the next slot of the write order: after every write called before it, before every write called after. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.statusValue === 'closing') return Promise.reject(new StorageError('DATABASE_CLOSED', 'the database is closing'));
    return this.queue.run(() =>
      this.inSlot(async () => {
        this.writable();
        return fn();
      }),
    );
  }

  /**
   * Starts a checkpoint once the log passes its threshold, in a microtask: a caller awaiting
   * writes in a tight loop never lets the event loop reach a timer or setImmediate, but
   * microtasks run between its writes, and the checkpoint takes the next slot of the write order.
   */
  private maybeAutoCheckpoint(): void {
    const { wal, options } = this.parts;
    if (!wal || options.autoCheckpointBytes === 0 || this.autoCheckpoint || wal.byteLength < options.autoCheckpointBytes) return;
    this.autoCheckpoint = Promise.resolve()
      .then(() => (this.statusValue === 'open' ? this.checkpoint() : undefined))
      .catch((err: QuiverError) => {
        this.backgroundError = err;
      })
      .finally(() => {
        this.autoCheckpoint = null;
      });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Attaches replication (src/replica/open.ts); its status becomes stats().replication. */
  /** @internal */
  attach(attachment: Attachment): void {
    this.attachment = attachment;
  }

  stats(): DatabaseStats {
    const state = this.readable();
    const replication = this.attachment?.status(state.lastLsn);
    return collectStats({
      fs: this.parts.fs,
      replication,
      dir: this.parts.dir,
      status: this.statusValue,
      durability: this.durability,
      readOnly: this.parts.options.readOnly,
      embedder: this.parts.embedder?.manifest ?? null,
      state,
      walBytes: this.parts.wal?.byteLength ?? null,
      recovery: this.parts.recovery,
      writer: this.parts.lock?.holder ?? (this.parts.dir ? writerStatus(this.parts.dir, this.parts.options.lockStaleMs, this.parts.fs) : null),
      readers: this.parts.dir ? listLeases(this.parts.dir, this.parts.options.lockStaleMs, this.parts.fs) : [],
      lease: this.parts.reader?.lease ? { held: this.parts.reader.lease.held, reason: this.parts.reader.lease.reason } : null,
      backgroundError: this.backgroundError,
    });
  }

  /** Flushes the log (relaxed mode's buffer included), closes it and releases the lock. Idempotent. */
  close(): Promise<void> {
    if (this.statusValue === 'closed') return Promise.resolve();
    if (this.closing) return this.closing;
    const failed = this.statusValue === 'failed';
    this.statusValue = 'closing';
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.closing = (async () => {
      let error: unknown = null;
      try {
        await this.refreshing?.catch(() => undefined);
        await this.attachment?.close();
        await Promise.all(this.vectorCheck.inFlight);
        await this.parts.reader?.lease?.release();
        if (!failed) {
          await this.autoCheckpoint;
          // After every write called before close(); one of them may still fail the database.
          await this.queue.run(async () => (this.failure === null ? this.parts.wal?.close() : this.parts.wal?.abandon()));
        } else {
          this.parts.wal?.abandon();
        }
      } catch (err) {
        error = err;
      } finally {
        await this.parts.lock?.unlock().catch((err: unknown) => (error ??= err));
        this.statusValue = 'closed';
      }
      if (error) throw error instanceof StorageError ? error : ioError('closing', this.parts.dir ?? ':memory:', error);
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * @internal Stops the database after an I/O failure left memory and disk in doubt, or after the
   * writer fence found the lock taken over (that LockedError is what the refused write raises).
   * Returns the error to throw.
   */
  fail(cause: unknown): StorageError | LockedError {
    if (this.failure === null && (this.statusValue === 'open' || this.statusValue === 'closing')) {
      if (this.statusValue === 'open') this.statusValue = 'failed';
      this.failure = cause;
      this.parts.wal?.abandon();
    }
    if (cause instanceof LockedError) return cause;
    return new StorageError('DATABASE_FAILED', `the database failed and must be reopened: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }

  /**
   * Damage in stored vectors, found after open: the handle fails (README "Verification"), every
   * call raising CorruptionError naming the file. Nothing was written on top of them: writes
   * wait for the same check.
   */
  private failOnDamage(err: QuiverError): void {
    this.backgroundError ??= err;
    if (this.statusValue !== 'open') return;
    this.statusValue = 'failed';
    this.failure = err;
    this.parts.wal?.abandon();
  }

  private readable(): DbState {
    this.checkStatus();
    return this.parts.state;
  }

  private writable(): DbState {
    this.checkStatus();
    if (this.parts.options.readOnly) throw new StorageError('READ_ONLY', 'this database was opened read-only');
    return this.parts.state;
  }

  private checkStatus(): void {
    if (this.statusValue === 'open') return;
    // A slot taken before close() finishes its work (close waits for it).
    if (this.statusValue === 'closing' && this.slotsRunning > 0 && this.failure === null) return;
    if (this.statusValue === 'failed') {
      if (this.failure instanceof CorruptionError) throw failedByCorruption(this.failure);
      throw new StorageError('DATABASE_FAILED', 'the database failed after an I/O error; close and reopen it', { cause: this.failure });
    }
    throw new StorageError('DATABASE_CLOSED', `the database is ${this.statusValue}`);
  }
}
