import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, NotFoundError, QuiverError, SchemaError, ioError } from '../errors.js';
import type { Embedder } from '../embedder/embedder.js';
import { createEmbedder, readEmbedderManifest, resolveEmbedder, writeEmbedder } from '../embedder/resolve.js';
import { FORMAT_VERSION, FileName, TMP_SUFFIX } from '../format/constants.js';
import { decodeIdentity, encodeIdentity, newIdentity, quantizationOf, type Identity } from '../format/identity.js';
import { planMigrations } from '../format/migrations.js';
import { decodeSectionedHeader } from '../format/sectioned-file.js';
import { atomicReplace } from '../fs/atomic-replace.js';
import { isMissing, nodeFileSystem, readIfExists, type FileSystem } from '../fs/file-system.js';
import { WriterLock } from '../lock/writer-lock.js';
import { ReaderLease, removeStaleLeases } from '../lock/reader-lease.js';
import { loadView } from './open/reader.js';
import { finishReembed } from './open/finish-reembed.js';
import { WalWriter } from '../wal/wal-writer.js';
import { writeLogGeneration } from '../wal/wal-file.js';
import { randomSalt } from '../wal/frame.js';
import { fencedFileSystem } from '../lock/fenced-fs.js';
import { decodeManifest, encodeManifest } from '../segments/manifest.js';
import { encodeSnapshot } from '../segments/snapshot-file.js';
import type { RootRecord } from '../format/root-record.js';
import { verifyEmbedder } from './open/file-references.js';
import type { EmbedderManifest } from '../embedder/embedder.js';
import { referencedFiles, removeUnreferenced } from './maintenance/checkpoint.js';
import { Database } from './database.js';
import { checkAgainstIdentity, identityFields, requestedQuantization, resolveOptions, type OpenOptions, type ResolvedOptions } from './open/options.js';
import { loadSegmented, loadSnapshot } from './open/load.js';
import { replayWal } from './open/replay.js';
import { emptyState, releaseVectors, type DbState } from '../vault/db-state.js';

/** Entries a directory may hold and still count as empty (no database yet). */
const HARMLESS = new Set<string>([
  FileName.lock,
  `${FileName.lock}.lock`,
  FileName.readers,
  FileName.identity + TMP_SUFFIX,
  // Written before IDENTITY at creation, so a retried creation finds them and overwrites them.
  FileName.embedderManifest,
  FileName.embedderManifest + TMP_SUFFIX,
  FileName.textEmbedder,
]);

/**
 * Opens (creating on first use) the database in `dir`; with no `dir`, an in-memory database
 * with the same API whose state lives and dies with the process.
 */
export async function open(dir?: string, options: OpenOptions = {}): Promise<Database> {
  if (typeof dir === 'object' && dir !== null) throw new ConfigError('CONFIG_INVALID', 'path', 'path: pass undefined for an in-memory database, then the options');
  const resolved = resolveOptions(options);
  const fs = options.fs ?? nodeFileSystem;
  if (dir === undefined) {
    const embedder = options.embedder === undefined ? null : await createEmbedder(options.embedder);
    const identity = newIdentity(identityFields(withEmbedderDimension(options, embedder)));
    return new Database({ dir: null, fs, options: { ...resolved, durability: 'ephemeral' }, state: emptyState(identity), wal: null, lock: null, reader: null, recovery: null, embedder });
  }
  if (typeof dir !== 'string' || dir.length === 0) throw new ConfigError('CONFIG_INVALID', 'path', 'path: must be a non-empty string');
  if (os.endianness() !== 'LE') throw new ConfigError('CONFIG_INVALID', 'platform', 'quiverdb files are little-endian; this host is big-endian');
  const root = path.resolve(dir);

  let entries: string[];
  let createdDir = false;
  try {
    entries = await fs.readdir(root);
  } catch (err) {
    if (!isMissing(err)) throw ioError('reading', root, err);
    if (!resolved.create) throw new NotFoundError('database', `no database at ${root}`);
    // The new directory's own entry is durable only once its parent is fsynced.
    await fs
      .mkdir(root)
      .then(() => fs.syncDir(path.dirname(root)))
      .catch((e: unknown) => {
        throw ioError('creating', root, e);
      });
    entries = [];
    createdDir = true;
  }

  if (resolved.readOnly) {
    return openReadOnly(fs, root, entries, options, resolved).catch((err: unknown) => {
      throw openFailure(root, err);
    });
  }
  // A folder that is not a database is refused before the lock: a refused open leaves nothing in it.
  if (!entries.includes(FileName.identity)) refuseForeign(root, entries);
  let database: Database | null = null;
  const lock = await WriterLock.acquire(root, {
    fs,
    staleMs: resolved.lockStaleMs,
    timeoutMs: resolved.lockTimeoutMs,
    onCompromised: (err) => database?.fail(err),
  });
  // Everything the writer renames, replaces or removes from here on is fenced (lock/fenced-fs.ts).
  const wfs = fencedFileSystem(fs, lock.fence);
  let state: DbState | null = null;
  try {
    await finishReembed(wfs, root);
    const { identity, embedder, stored } = await loadOrCreateIdentity(wfs, root, entries, options, resolved.create);
    state = identity.storage === 'snapshot' ? await loadSnapshot(wfs, root, identity) : await loadSegmented(wfs, root, identity);
    // Taken before replay, which may drop vaults the manifest on disk still names.
    const onDisk = referencedFiles(state);
    const replayed = await replayWal(wfs, root, state, resolved.recovery);
    verifyEmbedder(state.record, stored);
    await removeStrays(wfs, root, onDisk);
    // A database without an embedder takes the one it is first opened with.
    if (embedder && !stored) await writeEmbedder(wfs, root, embedder);
    // A new log generation for this session (FORMAT.md "Log generations"), then a root that
    // records it, when the root does not already (a new database, or one older than the record).
    // An ephemeral writer makes no log; it keeps (and checkpoints empty) one it finds.
    const walFile = path.join(root, FileName.wal);
    const keepsLog = resolved.durability !== 'ephemeral' || replayed.found;
    const logId = keepsLog ? (state.record?.logId ?? replayed.header?.logId ?? randomSalt()) : null;
    const generation = logId === null ? null : await writeLogGeneration(wfs, walFile, logId, replayed.carry, replayed.bytes);
    await recordRoot(wfs, root, state, { logId, embedder: embedder?.manifest.fingerprint ?? null });
    await changeQuantization(wfs, root, state, options);
    const wal = resolved.durability === 'ephemeral' || !generation ? null : WalWriter.open(wfs, walFile, resolved.durability, generation, lock.fence);
    await removeStaleLeases(root, resolved.lockStaleMs, wfs).catch(() => undefined);
    database = new Database({ dir: root, fs: wfs, options: resolved, state, wal, lock, reader: null, recovery: replayed.report, embedder });
    return database;
  } catch (err) {
    if (state) releaseVectors(state);
    // No database came of it: take back the lock file this open added (and the folder it made).
    const created = !entries.includes(FileName.identity) && !(await fs.exists(path.join(root, FileName.identity)).catch(() => true));
    if (created && !entries.includes(FileName.lock)) await fs.unlink(path.join(root, FileName.lock)).catch(() => undefined);
    await lock.unlock().catch(() => undefined);
    if (created && createdDir) await fs.unlinkDir(root).catch(() => undefined);
    throw openFailure(root, err);
  }
}

/**
 * What a failed open raises: the seam passes errno errors through (the open's own steps branch
 * on ENOENT and ELOOP), so one that got this far becomes StorageError IO_ERROR here, naming the file.
 */
function openFailure(root: string, err: unknown): unknown {
  return err instanceof QuiverError ? err : ioError('opening', root, err);
}

/**
 * Makes the root record `record` (format/root-record.ts). A segmented manifest is small: it is rewritten
 * with the same checkpoint whenever its record differs. A snapshot is the whole state: only an
 * absent one is written here (empty, at epoch 0); an older one gains the record at the next
 * checkpoint. Either way the root is written after the log generation it names is durable.
 */
async function recordRoot(fs: FileSystem, root: string, state: DbState, record: RootRecord): Promise<void> {
  const same = state.record?.logId === record.logId && state.record.embedder === record.embedder;
  state.record = record;
  if (same) return;
  if (state.identity.storage === 'segmented') {
    const bytes = await readIfExists(fs, path.join(root, FileName.manifest), FileName.manifest);
    const manifest = bytes ? decodeManifest(bytes) : { epoch: 0, checkpointLsn: 0, nextVaultNumber: 1, vaults: [] };
    await atomicReplace(fs, path.join(root, FileName.manifest), encodeManifest({ ...manifest, record }));
  } else if (!(await fs.exists(path.join(root, FileName.snapshot)))) {
    await atomicReplace(fs, path.join(root, FileName.snapshot), encodeSnapshot({ epoch: 0, checkpointLsn: 0, nextVaultNumber: 1, vaults: 0, record }, []));
  }
}

/**
 * A read-only open: no writer lock, no log writer, nothing changed on disk but the reader's own
 * lease under readers/. The view is a checkpoint plus the log after it (FORMAT.md "Readers").
 */
async function openReadOnly(fs: FileSystem, root: string, entries: readonly string[], options: OpenOptions, resolved: ResolvedOptions): Promise<Database> {
  const { identity, embedder } = await loadOrCreateIdentity(fs, root, entries, options, false, false);
  const view = await loadView(fs, root, identity);
  const { state } = view;
  let replayed: number;
  let lease: ReaderLease;
  try {
    replayed = view.commit();
    lease = await ReaderLease.take(fs, root, { epoch: state.epoch, lsn: state.lastLsn }, resolved.lockStaleMs);
  } catch (err) {
    releaseVectors(state);
    throw err;
  }
  const recovery = { dropped: null, salvagedTo: null, replayedRecords: replayed, skippedRecords: 0, checkpointLsn: state.checkpointLsn, lastLsn: state.lastLsn };
  return new Database({ dir: root, fs, options: resolved, state, wal: null, lock: null, reader: { view: { state, walOffset: view.walOffset, walSalt: view.walSalt, root: view.root }, lease }, recovery, embedder });
}

/** A database's dimension comes from its embedder when it has one; a contradicting option is a ConfigError. */
function withEmbedderDimension(options: OpenOptions, embedder: Embedder | null): OpenOptions {
  if (!embedder) return options;
  if (options.dimension !== undefined && options.dimension !== embedder.dimension) {
    throw new ConfigError('CONFIG_MISMATCH', 'dimension', `dimension: the embedder produces ${embedder.dimension} dimensions, the options ask for ${options.dimension}`);
  }
  return { ...options, dimension: embedder.dimension };
}

function refuseForeign(root: string, entries: readonly string[]): void {
  if (entries.some((e) => !HARMLESS.has(e))) {
    throw new SchemaError('SCHEMA_VERSION_ABSENT', `${root} is not empty but has no ${FileName.identity}: it is not a quiverdb database, or its identity was lost`, undefined, FORMAT_VERSION);
  }
}

/**
 * `index.quantization`, the one IDENTITY field a writer changes in place (FORMAT.md "IDENTITY"):
 * rewritten atomically under the writer lock, last in the open, once everything else has been
 * read and checked (a failed open leaves IDENTITY as it was). Checkpoints from here on write
 * codes beside each graph, or stop writing them (checkpoint.ts).
 */
async function changeQuantization(fs: FileSystem, root: string, state: DbState, options: OpenOptions): Promise<void> {
  const wanted = requestedQuantization(options);
  const identity = state.identity;
  if (wanted === undefined || wanted === quantizationOf(identity) || identity.index.type !== 'hnsw') return;
  const { quantization: _, ...index } = identity.index;
  const next: Identity = { ...identity, index: wanted === 'int8' ? { ...index, quantization: wanted } : index };
  await atomicReplace(fs, path.join(root, FileName.identity), encodeIdentity(next));
  state.identity = next;
}

/** IDENTITY and the embedder: read and checked against the options, or created. */
async function loadOrCreateIdentity(fs: FileSystem, root: string, entries: readonly string[], options: OpenOptions, create: boolean, writable = true): Promise<{ identity: Identity; embedder: Embedder | null; stored: EmbedderManifest | null }> {
  const file = path.join(root, FileName.identity);
  let bytes = await readIfExists(fs, file, FileName.identity);
  if (bytes === null) {
    refuseForeign(root, entries);
    if (!create) throw new NotFoundError('database', `no database at ${root}`);
    const embedder = options.embedder === undefined ? null : await createEmbedder(options.embedder);
    const identity = newIdentity(identityFields(withEmbedderDimension(options, embedder)));
    // The embedder's files first; then IDENTITY, atomically: the commit point of creation.
    if (embedder) await writeEmbedder(fs, root, embedder);
    await atomicReplace(fs, file, encodeIdentity(identity));
    await fs.mkdir(path.join(root, FileName.segments));
    return { identity, embedder, stored: embedder?.manifest ?? null };
  }
  const { version } = decodeSectionedHeader(bytes, 'identity', FileName.identity);
  const migrations = planMigrations(version);
  if (migrations.length > 0 && !writable) {
    throw new SchemaError('SCHEMA_MIGRATION_MISSING', `format version ${version} needs migrating; open it read-write once`, version, FORMAT_VERSION);
  }
  for (const step of migrations) await step.run(root);
  if (migrations.length > 0) bytes = await fs.readFile(file);
  const identity = decodeIdentity(bytes);
  checkAgainstIdentity(options, identity, writable);
  const stored = await readEmbedderManifest(fs, root);
  const embedder = await resolveEmbedder(fs, root, options.embedder, stored);
  if (embedder && embedder.dimension !== identity.dimension) {
    throw new ConfigError('CONFIG_MISMATCH', 'embedder', `embedder: it produces ${embedder.dimension} dimensions, the database holds ${identity.dimension}`);
  }
  return { identity, embedder, stored };
}

/** Leftovers of an interrupted checkpoint: tmp files and segment files the manifest does not name. */
async function removeStrays(fs: FileSystem, root: string, named: ReadonlySet<string>): Promise<void> {
  for (const name of [FileName.manifest, FileName.snapshot, FileName.identity, FileName.wal]) {
    await fs.unlink(path.join(root, name + TMP_SUFFIX)).catch(() => undefined);
  }
  await fs.unlink(path.join(root, `${FileName.snapshot}.graph${TMP_SUFFIX}`)).catch(() => undefined);
  await removeUnreferenced(fs, root, named);
}
