import * as path from 'node:path';
import { CorruptionError, ioError } from '../errors.js';
import { FileName, SECTION_HEADER_SIZE, SectionKind } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import { isSymlinkRefusal, readIfExists, type FileSystem } from '../fs/file-system.js';
import { decodeManifest } from '../segments/manifest.js';
import { decodeSnapshot } from '../segments/snapshot-file.js';
import type { VaultImage } from '../segments/vault-image.js';
import { decodeSegment } from '../segments/segment-file.js';
import { VectorBlock } from '../segments/vector-block.js';
import { findSection, type Hole } from '../format/sectioned-file.js';
import { LabelSet } from '../vault/index/label-set.js';
import { checkGraphHeader, GRAPH_HEADER_BYTES, HnswIndex, type HnswGraph } from '../vault/index/hnsw-index.js';
import { checksumFile } from '../fs/checksum.js';
import { createIndex, VaultState, type FileRef, type SegmentRef } from '../vault/vault-state.js';
import { decodeRecord } from '../wal/records.js';
import { scanWal, type DroppedSpan, type WalFrame } from '../wal/wal-reader.js';
import type { WalHeader } from '../wal/frame.js';
import { verifyLog } from './root-record.js';
import { applyOp } from './apply.js';
import { emptyState, releaseVectors, type DbState } from './state.js';
import type { Identity } from '../format/identity.js';

/** What opening the database found and did (db.stats().recovery). */
export interface RecoveryReport {
  /** The damaged span at the end of the log, if there was one. */
  dropped: DroppedSpan | null;
  /** Where salvage put the bytes after the damage (relative path), when it did. */
  salvagedTo: string | null;
  /** Log records applied on top of the checkpoint. */
  replayedRecords: number;
  /** Log records already covered by the checkpoint (a crash between manifest and truncation). */
  skippedRecords: number;
  checkpointLsn: number;
  lastLsn: number;
}

/** Why a file the manifest names could not be read: missing is corruption, anything else an I/O error. */
function unreadable(ref: FileRef, cause: unknown): Error {
  if (cause instanceof CorruptionError) return cause;
  if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return new CorruptionError(ref.path, 'named by the manifest but missing', { cause });
  if (isSymlinkRefusal(cause)) return new CorruptionError(ref.path, 'is a symbolic link; files the manifest names are never followed out of the database', { cause });
  return ioError('reading', ref.path, cause);
}

function checkSize(ref: FileRef, size: number): void {
  if (size !== ref.bytes) throw new CorruptionError(ref.path, `is ${size} bytes, the manifest says ${ref.bytes}`);
}

function checkCrc(ref: FileRef, crc: number): void {
  if (crc !== ref.crc32c) throw new CorruptionError(ref.path, 'checksum does not match the manifest');
}

/** A file the manifest names, checked against the size and CRC32C it records (CorruptionError otherwise). */
export async function readRef(fs: FileSystem, dir: string, ref: FileRef): Promise<Buffer> {
  let bytes: Buffer;
  try {
    // One read into a buffer of the recorded size (readFile would read it in 512 KiB round trips).
    const fd = fs.openSync(path.join(dir, ref.path), 'read');
    try {
      const size = fs.sizeSync(fd);
      checkSize(ref, size);
      bytes = Buffer.allocUnsafeSlow(size);
      checkSize(ref, await fs.read(fd, bytes, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (cause) {
    throw unreadable(ref, cause);
  }
  checkCrc(ref, crc32c(bytes));
  return bytes;
}

/**
 * Checks a file the manifest names against its size and CRC32C without holding it in memory:
 * saved graphs are checked this way before hnswlib, which trusts what it reads, ever sees them.
 */
export async function verifyRef(fs: FileSystem, dir: string, ref: FileRef): Promise<void> {
  let sum: { bytes: number; crc32c: number };
  try {
    sum = await checksumFile(fs, path.join(dir, ref.path));
  } catch (cause) {
    throw unreadable(ref, cause);
  }
  checkSize(ref, sum.bytes);
  checkCrc(ref, sum.crc32c);
}

/**
 * A vault's segment: everything but the vector section is read and decoded now, each section
 * checked against its CRC. The vector section, most of the file, is left on disk: its block
 * (VectorBlock) holds the open file and reads it in the background once the database is open,
 * checking it against its section CRC before any vector is used. The manifest's CRC of the whole
 * file is checked by `quiver check` and backups, which read all of it anyway.
 */
async function readSegment(fs: FileSystem, dir: string, ref: FileRef, dimension: number): Promise<VaultImage> {
  let fd: number;
  try {
    fd = fs.openSync(path.join(dir, ref.path), 'read');
  } catch (cause) {
    throw unreadable(ref, cause);
  }
  let image: VaultImage | null = null;
  try {
    let rest: Buffer;
    let hole: Hole | null;
    try {
      const size = fs.sizeSync(fd);
      checkSize(ref, size);
      const readAt = async (position: number, length: number): Promise<Buffer> => {
        const bytes = Buffer.alloc(length);
        return bytes.subarray(0, await fs.read(fd, bytes, position));
      };
      hole = await findSection(readAt, size, 'segment', ref.path, SectionKind.vectors);
      const skip = hole?.length ?? 0;
      rest = Buffer.allocUnsafeSlow(size - skip);
      const at = hole?.at ?? size;
      const read = (await fs.read(fd, rest.subarray(0, at), 0)) + (await fs.read(fd, rest.subarray(at), at + skip));
      checkSize(ref, read + skip);
    } catch (cause) {
      throw unreadable(ref, cause);
    }
    let apart: { hole: Hole; block: VectorBlock } | undefined;
    if (hole) {
      // The section header just before the payload: its first 12 bytes seed the CRC, its last 4 hold it.
      const header = rest.subarray(hole.at - SECTION_HEADER_SIZE, hole.at);
      apart = { hole, block: VectorBlock.onDisk({ fs, fd, file: ref.path, offset: hole.at, length: hole.length, seed: crc32c(header.subarray(0, 12)), crc: header.readUInt32LE(12) }) };
    }
    image = decodeSegment(rest, dimension, ref.path, apart);
    return image;
  } finally {
    // The block owns the descriptor once the image holds it; otherwise it is closed here.
    if (!image?.vectors || image.vectors.resident) fs.closeSync(fd);
  }
}

function vaultFromImage(identity: Identity, image: VaultImage, file: string): VaultState {
  const vault = new VaultState(image.number, image.name, image.quota, identity.dimension, createIndex(identity.index, identity.metric, identity.dimension), image.lsn);
  if (!vault.records.load(image.records)) throw new CorruptionError(file, 'two records share an id or a label');
  vault.stored = image.vectors;
  vault.records.nextLabel = Math.max(vault.records.nextLabel, image.nextLabel);
  for (const layer of image.layers) vault.layers.add(layer);
  vault.layers.nextLayer = Math.max(vault.layers.nextLayer, image.nextLayer);
  vault.layers.branches.clear();
  for (const [name, head] of image.branches) vault.layers.branches.set(name, head);
  for (const trace of image.traces) vault.traces.put(trace);
  vault.traces.retention = image.retention;
  vault.text = image.text;
  for (const index of image.payloadIndexes) vault.payloadIndexes.set(index.field, index);
  return vault;
}

function rebuildIndex(vault: VaultState): void {
  for (const record of vault.records.values()) vault.index.add(record.label, record.vector);
}

/** Reads a saved graph; the caller has checked its size and CRC. */
async function readGraph(identity: Identity, file: string): Promise<HnswGraph> {
  try {
    return await HnswIndex.read(file, identity.metric, identity.dimension);
  } catch (cause) {
    throw new CorruptionError(path.basename(file), 'hnswlib could not read the graph', { cause });
  }
}

/**
 * A saved graph, read by hnswlib while its checksum is computed. Its header is checked first
 * (checkGraphHeader: hnswlib allocates by it), and the graph is returned only once the whole
 * file has matched the manifest's size and CRC; nothing can search it before.
 */
async function loadGraph(fs: FileSystem, dir: string, identity: Identity, ref: FileRef): Promise<HnswGraph> {
  const file = path.join(dir, ref.path);
  const header = Buffer.alloc(GRAPH_HEADER_BYTES);
  let size: number;
  try {
    const fd = fs.openSync(file, 'read');
    try {
      size = fs.sizeSync(fd);
      fs.readSync(fd, header, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (cause) {
    throw unreadable(ref, cause);
  }
  checkSize(ref, size);
  const params = identity.index.type === 'hnsw' ? identity.index : null;
  const wrong = params ? checkGraphHeader(header, size, identity.dimension, params.M) : 'this database has no HNSW index';
  if (wrong) throw new CorruptionError(ref.path, wrong);
  const read = readGraph(identity, file);
  read.catch(() => undefined); // a checksum failure below wins over whatever hnswlib made of the file
  await verifyRef(fs, dir, ref);
  return await read;
}

/** The labels of the vault's records: the live labels of the graph its segment came with. */
function liveLabels(vault: VaultState): LabelSet {
  const labels = new LabelSet();
  for (const record of vault.records.values()) labels.add(record.label);
  return labels;
}

function register(state: DbState, vault: VaultState, segment: SegmentRef): void {
  vault.segment = segment;
  vault.segmentLsn = vault.lsn;
  state.vaults.set(vault.number, vault);
  state.names.set(vault.name, vault.number);
}

/**
 * Segmented mode: the manifest, then each vault's segment and saved graph. `reuse` offers
 * vaults already in memory: one whose segment file is the one the manifest names, and which
 * has not changed since it was loaded, is kept instead of being read again (reader refresh).
 */
export async function loadSegmented(fs: FileSystem, dir: string, identity: Identity, manifestBytes?: Buffer | null, reuse?: DbState): Promise<DbState> {
  const state = emptyState(identity);
  const bytes = manifestBytes === undefined ? await readIfExists(fs, path.join(dir, FileName.manifest), FileName.manifest) : manifestBytes;
  if (!bytes) return state;
  const manifest = decodeManifest(bytes);
  state.record = manifest.record;
  state.epoch = manifest.epoch;
  state.checkpointLsn = state.lastLsn = manifest.checkpointLsn;
  state.nextVaultNumber = manifest.nextVaultNumber;
  try {
    for (const entry of manifest.vaults) {
      const known = reuse?.vaults.get(entry.number);
      if (known && known.segment?.segment.path === entry.segment.path && known.lsn === known.segmentLsn && known.name === entry.name) {
        register(state, known, known.segment);
        continue;
      }
      // hnswlib reads the graph in the thread pool while its checksum is computed and the segment
      // is read and decoded here: cold open costs about the longest of the three, not their sum.
      const graph = entry.graph ? loadGraph(fs, dir, identity, entry.graph) : null;
      graph?.catch(() => undefined); // awaited below; a segment failure first must not leave it unhandled
      const image = await readSegment(fs, dir, entry.segment, identity.dimension);
      state.unread.push(image.vectors);
      if (image.number !== entry.number || image.name !== entry.name) throw new CorruptionError(entry.segment.path, 'holds a different vault than the manifest says');
      const vault = vaultFromImage(identity, image, entry.segment.path);
      if (graph) {
        const live = liveLabels(vault);
        vault.index = HnswIndex.over(await graph, identity.metric, live);
      } else {
        await image.vectors.load();
        rebuildIndex(vault);
      }
      register(state, vault, { epoch: entry.epoch, segment: entry.segment, graph: entry.graph });
    }
  } catch (err) {
    releaseVectors(state);
    throw err;
  }
  return state;
}

/** Snapshot mode: everything from quiver.snapshot; graphs go through a private temp file. */
export async function loadSnapshot(fs: FileSystem, dir: string, identity: Identity, snapshotBytes?: Buffer | null): Promise<DbState> {
  const state = emptyState(identity);
  const bytes = snapshotBytes === undefined ? await readIfExists(fs, path.join(dir, FileName.snapshot), FileName.snapshot) : snapshotBytes;
  if (!bytes) return state;
  const { meta, vaults } = decodeSnapshot(bytes, identity.dimension);
  state.record = meta.record;
  state.epoch = meta.epoch;
  state.checkpointLsn = state.lastLsn = meta.checkpointLsn;
  state.nextVaultNumber = meta.nextVaultNumber;
  // hnswlib reads a graph only from a file, by name: each goes through a private directory of
  // ours (mode 0700, outside the database, which a reader may not write to), removed after.
  let tmpDir: string | null = null;
  try {
    for (const { image, graph } of vaults) {
      const vault = vaultFromImage(identity, image, FileName.snapshot);
      if (identity.index.type === 'hnsw' && graph.byteLength > 0) {
        tmpDir ??= await fs.makeTempDir('quiver-graph-').catch((cause: unknown) => {
          throw ioError('creating a temporary directory for', FileName.snapshot, cause);
        });
        const tmp = path.join(tmpDir, `${vault.number}.hnsw`);
        await fs.writeFileSynced(tmp, [graph]).catch((cause: unknown) => {
          throw ioError('writing', tmp, cause);
        });
        vault.index = HnswIndex.over(await readGraph(identity, tmp), identity.metric, liveLabels(vault));
      } else {
        rebuildIndex(vault);
      }
      const whole = { path: FileName.snapshot, bytes: bytes.byteLength, crc32c: 0 };
      register(state, vault, { epoch: meta.epoch, segment: whole, graph: null });
    }
  } finally {
    if (tmpDir) await fs.removeTree(tmpDir).catch(() => undefined);
  }
  return state;
}

export type RecoveryPolicy = 'strict' | 'salvage';

/** What replay read from the log, for the writer to carry into its new generation. */
export interface ReplayedLog {
  report: RecoveryReport;
  /** The log's bytes as read, and its frames after the checkpoint that replay applied. */
  bytes: Buffer;
  carry: WalFrame[];
  header: WalHeader | null;
  /** Whether wal.log exists. */
  found: boolean;
}

/**
 * Replays wal.log on top of a loaded checkpoint. The log must be the one the root records
 * (root-record.ts). A torn tail (nothing valid after the damage) is not replayed; damage followed
 * by valid frames is corruption: under 'strict' it raises CorruptionError and changes nothing;
 * under 'salvage' (a writer only) the bytes from the damage on are copied aside to
 * `wal.log.salvaged-<offset>-<time>`. Replay itself changes nothing else on disk: a writer then
 * starts a new log generation holding exactly `carry` (writeLogGeneration), which is what cuts
 * the damaged or torn tail off.
 */
export async function replayWal(fs: FileSystem, dir: string, state: DbState, policy: RecoveryPolicy): Promise<ReplayedLog> {
  const file = path.join(dir, FileName.wal);
  const found = await readIfExists(fs, file, FileName.wal);
  const bytes = found ?? Buffer.alloc(0);
  const scan = scanWal(bytes);
  verifyLog(state.record, scan.header, found !== null);
  if (scan.dropped && scan.validFrameAfter !== null && policy === 'strict') {
    const d = scan.dropped;
    throw new CorruptionError(
      FileName.wal,
      `damaged record at offset ${d.offset} (${d.reason}) is followed by a valid record at offset ${scan.validFrameAfter}; ` +
        `this is corruption, not a torn tail. Nothing was changed. Open with { recovery: 'salvage' } or run 'quiver recover' to keep the first ${d.offset} bytes and move the rest aside`,
      { offset: d.offset },
    );
  }
  const report: RecoveryReport = { dropped: scan.dropped, salvagedTo: null, replayedRecords: 0, skippedRecords: 0, checkpointLsn: state.checkpointLsn, lastLsn: state.lastLsn };
  const carry: WalFrame[] = [];
  for (const frame of scan.frames) {
    if (frame.lsn <= state.checkpointLsn) {
      report.skippedRecords++;
      continue;
    }
    if (frame.lsn !== state.lastLsn + 1) {
      throw new CorruptionError(FileName.wal, `record at offset ${frame.offset} has LSN ${frame.lsn}, expected ${state.lastLsn + 1}: the log does not continue the checkpoint`, { offset: frame.offset });
    }
    for (const op of decodeRecord(frame.type, frame.body, state.identity.dimension, frame.offset)) {
      if (!applyOp(state, op, frame.lsn)) throw new CorruptionError(FileName.wal, `record at offset ${frame.offset} names a vault that does not exist`, { offset: frame.offset });
    }
    state.lastLsn = frame.lsn;
    carry.push(frame);
    report.replayedRecords++;
  }
  report.lastLsn = state.lastLsn;
  if (scan.dropped && scan.validFrameAfter !== null) {
    const aside = `${FileName.wal}.salvaged-${scan.dropped.offset}-${Date.now()}`;
    await fs.writeFileSynced(path.join(dir, aside), [bytes.subarray(scan.validEnd)]);
    await fs.syncDir(dir);
    report.salvagedTo = aside;
  }
  return { report, bytes, carry, header: scan.header, found: found !== null };
}
