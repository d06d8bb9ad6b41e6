import * as path from 'node:path';
import { CorruptionError } from '../../errors.js';
import { crc32c } from '../../format/crc.js';
import type { FileSystem } from '../../fs/file-system.js';
import { MappedFile, WINDOW_OVERLAP } from '../../native/mapped-file.js';
import { checksumRange } from '../../fs/checksum.js';
import { inSlices } from '../../util/loop-turns.js';
import type { Hole } from '../../format/sectioned-file.js';
import type { SharedRows } from '../../segments/segment-file.js';
import { checkSidecar, decodeGraphSidecar } from '../../segments/graph-sidecar.js';
import { GraphVectorBlock, type GraphVectorSource } from '../../segments/graph-vector-block.js';
import { closeView, viewOf } from '../../segments/graph-view.js';
import { GRAPH_HEADER, GraphRows, graphShape } from '../../segments/graph-vectors.js';
import type { RecordRows } from '../../vault/record-store.js';
import type { StoredRecord } from '../../vault/stored-record.js';
import type { FileRef } from '../../vault/vault-state.js';
import { readRef, unreadable } from './file-references.js';

/**
 * Binds a version 2 segment's vectors to the graph that is their only home (FORMAT.md "Segment
 * files", GRAPH_VECTORS): the graph's sidecar is read whole and checked against the manifest, so
 * every page of the graph a vector is read from can be checked against its sum first. `shared`:
 * a reader with the native addon views the vectors in the map its graph search uses (the block
 * takes over that hold on it, and closes it on any failure here); null: a private read.
 */
export async function bindGraphVectors(fs: FileSystem, dir: string, block: GraphVectorBlock, segment: FileRef, graph: FileRef | null, sidecarRef: FileRef | null, records: StoredRecord[] | RecordRows, shared: MappedFile | null, checkPages: ((from: number, to: number) => void) | null = null): Promise<void> {
  try {
    await bind(fs, dir, block, segment, graph, sidecarRef, records, shared, checkPages);
  } catch (err) {
    shared?.close();
    throw err;
  }
}

async function bind(fs: FileSystem, dir: string, block: GraphVectorBlock, segment: FileRef, graph: FileRef | null, sidecarRef: FileRef | null, records: StoredRecord[] | RecordRows, shared: MappedFile | null, checkPages: ((from: number, to: number) => void) | null): Promise<void> {
  if (!graph || !sidecarRef) throw new CorruptionError(segment.path, 'keeps its vectors in its graph, but the manifest names no graph and sidecar beside it');
  const source = await graphSource(fs, dir, graph, sidecarRef, shared, checkPages);
  const labelOf = Array.isArray(records) ? (row: number) => (records as StoredRecord[])[row]!.label : (row: number) => (records as RecordRows).label(row);
  try {
    block.bind(source, labelOf);
  } catch (err) {
    closeQuietly(fs, source.fd);
    throw err;
  }
}

/**
 * After a checkpoint's commit: a writer's mapped block moves onto the graph just saved, so the
 * graph it was bound to can go (kept[row] 1: the row's element there holds the same label and
 * floats, compared by the encoder). False, the block left as it was, where nothing can be mapped
 * or the new graph cannot be read back; the checkpoint is durable either way.
 */
export async function rebindGraphVectors(fs: FileSystem, dir: string, block: GraphVectorBlock, graph: FileRef, sidecarRef: FileRef, kept: Uint8Array): Promise<boolean> {
  const source = await mappedSource(fs, dir, graph, sidecarRef);
  if (!source) return false;
  try {
    block.rebind(source, kept); // the block owns the source now, on a throw too
    return true;
  } catch {
    return false;
  }
}

/** A graph just committed, mapped and checked as bindGraphVectors checks it; null where it cannot be mapped or read back (nothing left open). */
async function mappedSource(fs: FileSystem, dir: string, graph: FileRef, sidecarRef: FileRef): Promise<GraphVectorSource | null> {
  let map: MappedFile | null = null;
  try {
    map = MappedFile.open(path.join(dir, graph.path), graph.path);
    if (!map) return null;
    // By window, a turn apart: a writer's heap is large, and one buffer over the whole graph would
    // make its next collection an atomic mark-compact (MappedFile).
    await map.openWindows();
    return await graphSource(fs, dir, graph, sidecarRef, map, null);
  } catch {
    map?.close();
    return null;
  }
}

/** A graph's descriptor, shape and page sums, each checked against the sidecar, and the sidecar against the manifest. */
async function graphSource(fs: FileSystem, dir: string, graph: FileRef, sidecarRef: FileRef, shared: MappedFile | null, checkPages: ((from: number, to: number) => void) | null): Promise<GraphVectorSource> {
  const sidecar = decodeGraphSidecar(await readRef(fs, dir, sidecarRef), sidecarRef.path);
  checkSidecar(sidecar, graph, sidecarRef.path);
  const pageLog2 = Buffer.from(sidecar.shape.buffer, sidecar.shape.byteOffset, sidecar.shape.byteLength).readUInt32LE(12);
  if (pageLog2 < 12 || pageLog2 > 24 || sidecar.sums.byteLength !== Math.ceil(graph.bytes / 2 ** pageLog2) * 4) throw new CorruptionError(sidecarRef.path, 'page sums do not cover the graph');
  const file = path.join(dir, graph.path);
  let fd: number;
  try {
    fd = fs.openSync(file, 'read');
  } catch (cause) {
    throw unreadable(graph, cause);
  }
  try {
    // The header's page, like every page read for a vector, must match its sum before it is trusted.
    const sums = Buffer.from(sidecar.sums.buffer, sidecar.sums.byteOffset, sidecar.sums.byteLength);
    const first = Buffer.alloc(Math.min(graph.bytes, 2 ** pageLog2));
    if (fs.readSync(fd, first, 0) !== first.byteLength || first.byteLength < GRAPH_HEADER) throw new CorruptionError(graph.path, 'shorter than its header');
    if (crc32c(first) >>> 0 !== sums.readUInt32LE(0)) throw new CorruptionError(graph.path, "page 0 does not match its checksum in the graph's sidecar");
    const shape = graphShape(first);
    if (shape.per % 4 !== 0 || shape.dataOff % 4 !== 0 || GRAPH_HEADER + shape.count * shape.per > graph.bytes) throw new CorruptionError(graph.path, 'header does not describe level-0 records inside the file');
    // A record is read whole from the window of its first byte (MappedFile.window).
    if (shared && shape.per > WINDOW_OVERLAP) throw new CorruptionError(graph.path, `level-0 records of ${shape.per} bytes are longer than a mapped window reads whole`);
    if (shared && shared.byteLength !== graph.bytes) throw new CorruptionError(graph.path, `is ${shared.byteLength} bytes mapped, the manifest says ${graph.bytes}`);
    return { fs, fd, file: graph.path, shape, fileBytes: graph.bytes, pageLog2, sums: sidecar.sums, map: shared, checkPages: shared ? checkPages : null };
  } catch (err) {
    closeQuietly(fs, fd);
    throw err;
  }
}

function closeQuietly(fs: FileSystem, fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Only read from.
  }
}

/**
 * A reader's GRAPH_VECTORS payload (`hole` in the segment open on `fd`; `header` its section
 * header), checked against its section CRC before anything uses it: a view of the segment mapped
 * through `fd` (shared pages: at 1M x 384 cosine this is 100 MB each reader would otherwise hold
 * privately), read through a small buffer so that the check faults nothing in; or, where the file
 * cannot be mapped, a private copy.
 */
export async function sharedGraphRows(fs: FileSystem, fd: number, ref: FileRef, hole: Hole, header: Uint8Array): Promise<SharedRows> {
  const seed = crc32c(header.subarray(0, 12));
  const want = Buffer.from(header.buffer, header.byteOffset, header.byteLength).readUInt32LE(12);
  const map = hole.at % 4 === 0 ? MappedFile.open(fd, ref.path) : null;
  try {
    if (map && map.byteLength !== ref.bytes) throw new CorruptionError(ref.path, `is ${map.byteLength} bytes mapped, the manifest says ${ref.bytes}`);
    let payload: Uint8Array;
    let sum: { bytes: number; crc32c: number };
    try {
      if (map) {
        sum = await checksumRange(fs, fd, hole.at, hole.length, seed);
        payload = new Uint8Array(map.buffer, hole.at, hole.length);
      } else {
        const bytes = Buffer.allocUnsafeSlow(hole.length);
        const read = await fs.read(fd, bytes, hole.at);
        sum = { bytes: read, crc32c: crc32c(bytes.subarray(0, read), seed) };
        payload = bytes;
      }
    } catch (cause) {
      throw unreadable(ref, cause);
    }
    if (sum.bytes !== hole.length || sum.crc32c >>> 0 !== want >>> 0) throw new CorruptionError(ref.path, 'GRAPH_VECTORS section checksum mismatch', { offset: hole.at });
    return { payload, map };
  } catch (err) {
    map?.close();
    throw err;
  }
}

/**
 * A mapped block for a vault whose records were all written since the open (its vectors in
 * arrays of their own), bound to the graph a checkpoint has just committed; the checkpoint then
 * moves the records' vectors into it (checkpoint.ts). Null where nothing can be mapped.
 */
export async function startGraphVectors(fs: FileSystem, dir: string, graph: FileRef, sidecarRef: FileRef, dimension: number, corrected: boolean): Promise<GraphVectorBlock | null> {
  const block = GraphVectorBlock.fresh(GraphRows.empty(dimension, corrected), dimension);
  return (await bindWrittenGraph(fs, dir, block, graph, sidecarRef, () => -1)) ? block : null;
}

/**
 * Binds `block` (rows of a segment written with `graph`, `labelOf(row)` their labels) to that
 * graph, mapped; false, nothing left open, where it cannot be mapped or read back.
 */
export async function bindWrittenGraph(fs: FileSystem, dir: string, block: GraphVectorBlock, graph: FileRef, sidecarRef: FileRef, labelOf: (row: number) => number): Promise<boolean> {
  const source = await mappedSource(fs, dir, graph, sidecarRef);
  if (!source) return false;
  try {
    await inSlices(block.bindSteps(source, labelOf));
    return true;
  } catch {
    closeView(viewOf(source));
    return false;
  }
}
