import { CorruptionError } from '../errors.js';
import { crc32c } from '../format/crc.js';
import type { FileSystem } from '../fs/file-system.js';
import { GRAPH_HEADER, type GraphShape } from './graph-vectors.js';

/**
 * A saved graph as a GraphVectorBlock (graph-vector-block.ts) reads its vectors from it: the file,
 * its page sums, and the checks every byte read from it passes first (FORMAT.md "Graph sidecar").
 */

/** Where a vault's graph is, and the page sums (its sidecar's) every byte read from it must match. */
export interface GraphVectorSource {
  fs: FileSystem;
  /** Open on the graph; the block closes it. */
  fd: number;
  /** The graph's path relative to the database, for errors. */
  file: string;
  shape: GraphShape;
  fileBytes: number;
  pageLog2: number;
  /** The sidecar's PAGE_SUMS: one u32 CRC32C per page. */
  sums: Uint8Array;
  /** The graph mapped (a reader, or a writer, with the native addon): vectors are then read in place, nothing copied. */
  map?: GraphMap | null;
  /**
   * With `map`: the graph search's own page check (MappedGraph.checkPages: the same "verified"
   * marks, in C), used instead of checking pages here. Throws CorruptionError on a mismatch.
   */
  checkPages?: ((from: number, to: number) => void) | null;
}

const CHUNK = 4 << 20;

/** A slice of a map: `bytes` and `floats` view the file from byte `start` (4-aligned). */
export interface MapWindow {
  start: number;
  bytes: Uint8Array;
  floats: Float32Array;
}

/**
 * A graph's map, read by window (native/mapped-file.ts MappedFile): a level-0 record or a page is
 * whole in the window of its first byte, as both are far shorter than the windows' overlap.
 */
export interface GraphMap {
  window(at: number): MapWindow;
  readonly isClosed: boolean;
  readonly byteLength: number;
  close(): void;
}

/** A graph a block reads from: the source, its page sums as u32 and which have matched. */
export interface GraphView {
  source: GraphVectorSource;
  sums: Uint32Array;
  verified: Uint8Array;
}

export function viewOf(source: GraphVectorSource): GraphView {
  const sums = source.sums;
  return {
    source,
    sums: sums.byteOffset % 4 === 0 ? new Uint32Array(sums.buffer, sums.byteOffset, sums.byteLength / 4) : new Uint32Array(sums.slice().buffer),
    verified: new Uint8Array(Math.ceil(source.fileBytes / 2 ** source.pageLog2)),
  };
}

export function closeFd(source: GraphVectorSource): void {
  if (source.fd < 0) return;
  try {
    source.fs.closeSync(source.fd);
  } catch {
    // Only read from: nothing to lose.
  }
  source.fd = -1;
}

/**
 * Unmaps a graph, then closes its descriptor in the thread pool: the graph before a rebind is
 * unlinked by then, and the last reference to a file frees its page cache (70 ms on the event
 * loop for a 400 MB graph whose pages a checkpoint had just read); the descriptor, not the map,
 * is that last reference.
 */
export function closeView(view: GraphView): void {
  view.source.map?.close();
  const { fs, fd } = view.source;
  if (fd < 0) return;
  view.source.fd = -1;
  fs.close(fd).catch(() => undefined); // only read from: nothing to lose
}

/** A page that does not match its sum in the sidecar. */
export function pageError(source: GraphVectorSource, page: number): CorruptionError {
  const size = 2 ** source.pageLog2;
  return new CorruptionError(source.file, `page ${page} (bytes ${page * size} to ${Math.min(source.fileBytes, (page + 1) * size) - 1}) does not match its checksum in the graph's sidecar: the vectors stored on it cannot be read`, { offset: page * size });
}

/** Whether the level-0 record at `at` of `record` is live and carries `label`. */
export function holdsLabel(source: GraphVectorSource, record: Uint8Array, at: number, label: number): boolean {
  const l = at + source.shape.labelOff;
  const low = record[l]! | (record[l + 1]! << 8) | (record[l + 2]! << 16) | (record[l + 3]! << 24);
  const high = record[l + 4]! | record[l + 5]! | record[l + 6]! | record[l + 7]!;
  return (record[at + 2]! & 1) === 0 && high === 0 && low >>> 0 === label;
}

/** Checks the mapped pages under bytes [from, to) (each once; through the graph search's own check where it has one). Throws CorruptionError. */
export function checkMappedPages(view: GraphView, from: number, to: number): void {
  const source = view.source;
  if (source.checkPages) return source.checkPages(from, to);
  const verified = view.verified;
  // Offsets pass 2^32 in graphs over 2.5M records at 384 dimensions: arithmetic, not bit shifts.
  const size = 2 ** source.pageLog2;
  for (let p = Math.floor(from / size), last = Math.floor((to - 1) / size); p <= last; p++) {
    if (verified[p]) continue;
    const at = p * size;
    const end = Math.min(source.fileBytes, at + size);
    const w = source.map!.window(at);
    if (crc32c(w.bytes.subarray(at - w.start, end - w.start)) >>> 0 !== view.sums[p]) throw pageError(source, p);
    verified[p] = 1;
  }
}

/** Checks pages [p0, p0 + bytes/page) of `buf` (the graph from byte p0 × page) against their sums. Throws CorruptionError. */
export function checkReadPages(view: GraphView, buf: Uint8Array, p0: number): void {
  const size = 2 ** view.source.pageLog2;
  for (let at = 0, p = p0; at < buf.byteLength; at += size, p++) {
    if (crc32c(buf.subarray(at, Math.min(at + size, buf.byteLength))) >>> 0 !== view.sums[p]) throw pageError(view.source, p);
    view.verified[p] = 1;
  }
}

/** The level-0 chunks to read: element ranges and the whole pages around them. */
export function* levelZeroChunks(source: GraphVectorSource): Generator<{ e0: number; e1: number; from: number; to: number }> {
  const { count, per } = source.shape;
  const size = 2 ** source.pageLog2;
  const batch = Math.max(1, Math.floor(CHUNK / per));
  for (let e0 = 0; e0 < count; e0 += batch) {
    const e1 = Math.min(count, e0 + batch);
    const from = Math.floor((GRAPH_HEADER + e0 * per) / size) * size;
    const to = Math.min(source.fileBytes, Math.ceil((GRAPH_HEADER + e1 * per) / size) * size);
    yield { e0, e1, from, to };
  }
}

/** A chunk's elements and the partial pages at either end. */
export function chunkBuffer(source: GraphVectorSource): Buffer {
  return Buffer.allocUnsafeSlow(CHUNK + 2 * 2 ** source.pageLog2);
}
