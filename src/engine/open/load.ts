import * as path from 'node:path';
import { CorruptionError, ioError } from '../../errors.js';
import { FileName, SECTION_HEADER_SIZE, SectionKind } from '../../format/constants.js';
import { crc32c } from '../../format/crc.js';
import { readIfExists, type FileSystem } from '../../fs/file-system.js';
import { checkSize, readRef, unreadable, verifyRef } from './file-references.js';
import { checkSidecar, decodeGraphSidecar, type GraphSidecar } from '../../segments/graph-sidecar.js';
import { decodeManifest } from '../../segments/manifest.js';
import { decodeSnapshot } from '../../segments/snapshot-file.js';
import type { VaultImage } from '../../segments/vault-image.js';
import { decodeSegment } from '../../segments/segment-file.js';
import { VectorBlock } from '../../segments/vector-block.js';
import { GraphVectorBlock } from '../../segments/graph-vector-block.js';
import { bindGraphVectors, sharedGraphRows } from './graph-home.js';
import { closeDeltas, readDeltas, withDeltas, withLastDelta, type Deltas } from './deltas.js';
import type { SharedRows } from '../../segments/segment-file.js';
import { findSection, type Hole } from '../../format/sectioned-file.js';
import type { LabelSet } from '../../vault/index/label-set.js';
import { checkGraphHeader, GRAPH_HEADER_BYTES, HnswIndex, type HnswGraph } from '../../vault/index/hnsw-index.js';
import { MappedHnswIndex } from '../../vault/index/mapped-hnsw-index.js';
import { MappedGraph, nativeGraphs } from '../../native/mapped-graph.js';
import { MappedFile } from '../../native/mapped-file.js';
import { createIndex, VaultState, type FileRef, type SegmentRef } from '../../vault/vault-state.js';
import { emptyState, releaseVectors, type DbState } from '../../vault/db-state.js';
import type { Identity } from '../../format/identity.js';
import { nativeRowScanner } from '../../native/row-scan.js';
import { provideRowScanner } from '../../vault/row-scan.js';

// The filter planner's exact scan runs natively where the addon is built (src/vault/row-scan.ts).
provideRowScanner(nativeRowScanner);

/**
 * A vault's segment: everything but the vector section is read and decoded now, each section
 * checked against its CRC. The vector section, most of the file, is left on disk: its block
 * (VectorBlock) holds the open file and reads it in the background once the database is open,
 * checking it against its section CRC before any vector is used. The manifest's CRC of the whole
 * file is checked by `quiver check` and backups, which read all of it anyway.
 */
async function readSegment(fs: FileSystem, dir: string, ref: FileRef, dimension: number, share = false): Promise<VaultImage> {
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
    let rowsHole: Hole | null = null;
    let rowsHeader: Buffer | null = null;
    let readPrivately: (skip: Hole | null) => Promise<Buffer>;
    try {
      const size = fs.sizeSync(fd);
      checkSize(ref, size);
      const readAt = async (position: number, length: number): Promise<Buffer> => {
        const bytes = Buffer.alloc(length);
        return bytes.subarray(0, await fs.read(fd, bytes, position));
      };
      hole = await findSection(readAt, size, 'segment', ref.path, SectionKind.vectors);
      // A reader with the addon views a version 2 segment in a map, shared as the graph is: its
      // GRAPH_VECTORS (checked apart, faulting nothing in), and its records' ids and payloads.
      if (!hole && share && MappedFile.available()) rowsHole = await findSection(readAt, size, 'segment', ref.path, SectionKind.graphVectors);
      if (rowsHole) rowsHeader = await readAt(rowsHole.at - SECTION_HEADER_SIZE, SECTION_HEADER_SIZE);
      // Everything but `skip`'s payload, into a buffer of this process's own.
      readPrivately = async (skip) => {
        const length = skip?.length ?? 0;
        const bytes = Buffer.allocUnsafeSlow(size - length);
        const at = skip?.at ?? size;
        const read = (await fs.read(fd, bytes.subarray(0, at), 0)) + (await fs.read(fd, bytes.subarray(at), at + length));
        checkSize(ref, read + length);
        return bytes;
      };
    } catch (cause) {
      throw unreadable(ref, cause);
    }
    let apart: { hole: Hole; block?: VectorBlock; rows?: SharedRows } | undefined;
    let map: { close(): void } | null = null;
    if (rowsHole) {
      const rows = await sharedGraphRows(fs, fd, ref, rowsHole, rowsHeader!);
      map = rows.map;
      apart = { hole: rows.map ? { ...rowsHole, inPlace: true } : rowsHole, rows };
    }
    try {
      rest = apart?.rows?.map ? Buffer.from(apart.rows.map.buffer) : await readPrivately(rowsHole ?? hole);
    } catch (cause) {
      map?.close();
      throw unreadable(ref, cause);
    }
    if (hole) {
      // The section header just before the payload: its first 12 bytes seed the CRC, its last 4 hold it.
      const header = rest.subarray(hole.at - SECTION_HEADER_SIZE, hole.at);
      // Mapped through the descriptor just read: the map is of the file whose sections were checked.
      const vectorMap = share ? mapVectors(fd, ref, hole) : null;
      map = vectorMap;
      apart = { hole, block: VectorBlock.onDisk({ fs, fd, file: ref.path, offset: hole.at, length: hole.length, seed: crc32c(header.subarray(0, 12)), crc: header.readUInt32LE(12), map: vectorMap }) };
    }
    try {
      image = decodeSegment(rest, dimension, ref.path, apart);
    } catch (err) {
      map?.close();
      throw err;
    }
    return image;
  } finally {
    // The block owns the descriptor once the image holds it; otherwise it is closed here.
    // (A segment whose vectors are in its graph holds no descriptor of its own.)
    if (!(image?.vectors instanceof VectorBlock) || image.vectors.resident) fs.closeSync(fd);
  }
}

/**
 * A reader's segment mapped for its vectors (src/native/mapped-file.ts), or null for a private
 * read: no addon (or QUIVER_NATIVE=0), no vectors, or a section a Float32Array cannot view (its
 * payload is 8-byte aligned in the file by FORMAT.md "Sectioned files", so never in practice).
 */
function mapVectors(fd: number, ref: FileRef, hole: Hole): MappedFile | null {
  if (hole.length === 0 || hole.at % Float32Array.BYTES_PER_ELEMENT !== 0) return null;
  const map = MappedFile.open(fd, ref.path);
  // The file is the one just read: a size other than the manifest's is damage.
  if (map && map.byteLength !== ref.bytes) {
    map.close();
    throw new CorruptionError(ref.path, `is ${map.byteLength} bytes mapped, the manifest says ${ref.bytes}`);
  }
  return map;
}

/** `saved`: a saved graph replaces the index before the vault is used, so none is made here. */
function vaultFromImage(identity: Identity, image: VaultImage, file: string, saved = false): VaultState {
  const vault = new VaultState(image.number, image.name, image.quota, identity.dimension, createIndex(saved ? { type: 'flat' } : identity.index, identity.metric, identity.dimension), image.lsn);
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
 * A saved graph's size and header, checked before anything reads the rest: hnswlib allocates by
 * the header (checkGraphHeader), and the mapped search indexes by it.
 */
async function checkGraphFile(fs: FileSystem, file: string, identity: Identity, ref: FileRef): Promise<void> {
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
}

/**
 * A saved graph, read by hnswlib while its checksum is computed. It is returned only once the
 * whole file has matched the manifest's size and CRC; nothing can search it before.
 */
async function loadGraph(fs: FileSystem, dir: string, identity: Identity, ref: FileRef): Promise<HnswGraph> {
  const file = path.join(dir, ref.path);
  await checkGraphFile(fs, file, identity, ref);
  const read = readGraph(identity, file);
  read.catch(() => undefined); // a checksum failure below wins over whatever hnswlib made of the file
  await verifyRef(fs, dir, ref);
  return await read;
}

/**
 * A saved graph for a reader, mapped (shared with every process, nothing copied) for the native
 * search. With a sidecar (FORMAT.md "Graph sidecar") only the sidecar is read whole now; the
 * addon checks the graph's pages against it, each before its first use. A graph saved before
 * sidecars is checked whole against the manifest's size and CRC first. Files a manifest names
 * are never rewritten (FORMAT.md "Readers"), so the mapped bytes stay the checked ones.
 */
async function mapGraph(fs: FileSystem, dir: string, identity: Identity, ref: FileRef, sidecarRef: FileRef | null, codesRef: FileRef | null = null): Promise<MappedGraphFile> {
  const file = path.join(dir, ref.path);
  await checkGraphFile(fs, file, identity, ref);
  if (!sidecarRef) {
    await verifyRef(fs, dir, ref);
    return { graph: MappedGraph.open(file, ref.path, identity.metric, identity.dimension), map: null, sidecar: null };
  }
  const sidecar = decodeGraphSidecar(await readRef(fs, dir, sidecarRef), sidecarRef.path);
  checkSidecar(sidecar, ref, sidecarRef.path);
  // One mapping of the graph for its search and (FORMAT.md "Segment files", GRAPH_VECTORS) its vectors.
  const map = MappedFile.open(file, ref.path);
  if (map && map.byteLength !== ref.bytes) {
    map.close();
    throw new CorruptionError(ref.path, `is ${map.byteLength} bytes mapped, the manifest says ${ref.bytes}`);
  }
  let graph: MappedGraph | null = null;
  try {
    graph = MappedGraph.open(file, ref.path, identity.metric, identity.dimension, sidecar, map);
    if (codesRef && process.env.QUIVER_CODES !== '0') attachCodes(graph, dir, codesRef, ref);
    return { graph, map, sidecar };
  } catch (err) {
    graph?.close();
    map?.close();
    throw err;
  }
}

/**
 * A quantized database's codes (FORMAT.md "Graph codes"), mapped beside the graph: its header and
 * page-sum table are checked now against the graph the manifest names, each page of rows before
 * its first use. QUIVER_CODES=0 leaves them unmapped (searches then run on the float32 graph).
 */
function attachCodes(graph: MappedGraph, dir: string, codesRef: FileRef, graphRef: FileRef): void {
  const codes = MappedFile.open(path.join(dir, codesRef.path), codesRef.path);
  if (!codes) return;
  if (codes.byteLength !== codesRef.bytes) {
    codes.close();
    throw new CorruptionError(codesRef.path, `is ${codes.byteLength} bytes mapped, the manifest says ${codesRef.bytes}`);
  }
  graph.attachCodes(codes, graphRef.crc32c, codesRef.path, path.join(dir, graphRef.path));
}

/** A reader's mapped graph; `map`, when not null, is one more hold on the graph's mapping, for its vectors (or to close). */
interface MappedGraphFile {
  graph: MappedGraph;
  map: MappedFile | null;
  sidecar: GraphSidecar | null;
}

/** The labels of the vault's records: the live labels of the graph its segment came with. */
function liveLabels(vault: VaultState): LabelSet {
  return vault.records.labelSet();
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
 * `readOnly` (a reader's view) maps graphs for the native search when it is built (src/native).
 */
export async function loadSegmented(fs: FileSystem, dir: string, identity: Identity, manifestBytes?: Buffer | null, reuse?: DbState, readOnly = false): Promise<DbState> {
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
      if (known && known.segment?.epoch === entry.epoch && known.segment.segment.path === entry.segment.path && (known.segment.codes?.path ?? null) === (entry.codes?.path ?? null) && known.lsn === known.segmentLsn && known.name === entry.name) {
        register(state, known, known.segment);
        continue;
      }
      // hnswlib reads the graph in the thread pool while its checksum is computed and the segment
      // is read and decoded here: cold open costs about the longest of the three, not their sum.
      const hnsw = identity.index.type === 'hnsw' ? identity.index : null;
      const mapped = entry.graph && hnsw && readOnly && nativeGraphs() ? mapGraph(fs, dir, identity, entry.graph, entry.sidecar ?? null, entry.codes ?? null) : null;
      const graph = entry.graph && !mapped ? loadGraph(fs, dir, identity, entry.graph) : null;
      // Awaited below; a segment failure first must not leave them unhandled.
      graph?.catch(() => undefined);
      mapped?.catch(() => undefined);
      // Until the vault owns them, a failure below must release the mapped graph and its map's hold.
      let mapOwned = false;
      let graphOwned = false;
      let deltas: Deltas | null = null;
      try {
        // A reader with the addon views its vectors in the mapped segment: no private copy.
        const image = await readSegment(fs, dir, entry.segment, identity.dimension, readOnly && nativeGraphs());
        state.unread.push(image.vectors);
        if (image.number !== entry.number || image.name !== entry.name) throw new CorruptionError(entry.segment.path, 'holds a different vault than the manifest says');
        // Delta segments' rows join the base's block before it is bound to the graph (FORMAT.md "Delta segments").
        deltas = await readDeltas(fs, dir, entry, image, identity.dimension, readOnly && nativeGraphs());
        const onMap = mapped ? await mapped : null;
        if (image.vectors instanceof GraphVectorBlock) {
          // The block takes over the mapping's hold (a reader's vectors are read in place). A
          // writer with the addon maps its graph for its vectors too: hnswlib's copy is for
          // searching, and the vectors then cost only the page cache's pages a scan touches,
          // not a second private copy (the checkpoint carries the map onto each new graph).
          // A graph searched on its codes is checked through reads instead of its map (graph-vector-block.ts
          // fillAsync): checking in place would fault every float32 page into this process (FORMAT.md "Graph codes").
          const search = onMap?.graph;
          mapOwned = true; // bindGraphVectors takes the hold, and releases it if it fails
          const own = !onMap && entry.graph && entry.sidecar ? MappedFile.open(path.join(dir, entry.graph.path), entry.graph.path) : null;
          await bindGraphVectors(fs, dir, image.vectors, entry.segment, entry.graph, entry.sidecar ?? null, image.records, onMap?.map ?? own, search && onMap.sidecar && !search.quantized ? (from, to) => search.checkPages(from, to) : null);
        } else {
          mapOwned = true;
          onMap?.map?.close();
        }
        const vault = vaultFromImage(identity, withLastDelta(image, deltas), entry.segment.path, (mapped ?? graph) !== null);
        // The index is made over the saved graph once the deltas it holds are applied; those after it reach it as replay does.
        await withDeltas(vault, entry, image, deltas, async () => {
          if (onMap && hnsw) {
            vault.index = new MappedHnswIndex(onMap.graph, identity.metric, identity.dimension, hnsw, liveLabels(vault));
            graphOwned = true;
          } else if (graph) {
            const live = liveLabels(vault);
            vault.index = HnswIndex.over(await graph, identity.metric, live);
          } else {
            await image.vectors.load();
            rebuildIndex(vault);
          }
        });
        // A writer's vault that may take deltas notes its erasures for the next one's ERASED (never a reader's, which does not checkpoint).
        vault.records.trackErased = !readOnly && vault.deltaBase !== null;
        register(state, vault, { epoch: entry.epoch, segment: entry.segment, graph: entry.graph, sidecar: entry.sidecar ?? null, codes: entry.codes ?? null, ...(entry.deltas ? { deltas: entry.deltas } : {}) });
      } catch (err) {
        closeDeltas(deltas);
        await mapped?.then((m) => {
          if (!graphOwned) m.graph.close();
          if (!mapOwned) m.map?.close();
        }, () => undefined);
        throw err;
      }
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
