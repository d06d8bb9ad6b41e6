import { CorruptionError } from '../errors.js';
import { SectionKind } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import { decodeSectioned, encodeSectioned, requireSection } from '../format/sectioned-file.js';
import { checksumFile } from '../fs/checksum.js';
import type { FileSystem } from '../fs/file-system.js';
import { nextTurn, overdue } from '../util/loop-turns.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * FORMAT.md "Graph sidecar": `vault_<n>_<epoch>.hnsw.meta`, written beside each saved graph so a
 * mapped reader need not read the whole graph before its first answer. It holds a CRC32C per
 * page of the graph (checked by native/pages.c on a page's first use) and where each element's
 * upper-level lists are (so the reader never walks the upper-level area at open).
 */

export const SIDECAR_VERSION = 1;
/** 4 KiB: the OS page. A reader checks exactly the pages it faults in, nothing more. */
export const PAGE_LOG2 = 12;
/** The GRAPH_SHAPE section's size (native/graph.h SIDECAR_META_BYTES). */
const SHAPE_BYTES = 64;
/** hnswlib's saved header (FORMAT.md "Segment files"). */
const HEADER_BYTES = 96;

export interface GraphSidecar {
  /** The graph's size and CRC32C, which must be the manifest's for that graph. */
  graphBytes: number;
  graphCrc: number;
  /** The three sections as stored, handed to the addon (MappedGraph.openPaged). */
  shape: Uint8Array;
  sums: Uint8Array;
  upper: Uint8Array;
}

/**
 * Reads a graph file once, in 4 MiB chunks, and returns its size and CRC32C with its sidecar's
 * bytes. hnswlib has just written the file: a shape it does not describe is a CorruptionError.
 * `also` sees each chunk too (the codes' ranges, graph-codes.ts).
 */
export async function summarizeGraph(fs: FileSystem, file: string, name: string, also?: (chunk: Uint8Array, offset: number) => void): Promise<{ sum: { bytes: number; crc32c: number }; chunks: Uint8Array[] }> {
  const page = 1 << PAGE_LOG2;
  let sums = new Uint32Array(0);
  let count = 0;
  let per = 0;
  let perLevel = 0;
  let upperStart = 0;
  // The upper-level lists' bytes, as read (joined once at the end: joining at each chunk copied
  // the area again for every chunk read).
  const upperParts: Uint8Array[] = [];
  let deleted = 0;
  const sum = await checksumFile(fs, file, (chunk, offset) => {
    if (offset === 0) {
      if (chunk.byteLength < HEADER_BYTES) throw new CorruptionError(name, 'shorter than its header');
      const h = Buffer.from(chunk.buffer, chunk.byteOffset, HEADER_BYTES);
      count = Number(h.readBigUInt64LE(16));
      per = Number(h.readBigUInt64LE(24));
      perLevel = 4 + 4 * Number(h.readBigUInt64LE(56));
      upperStart = HEADER_BYTES + count * per;
    }
    const end = offset + chunk.byteLength;
    if (sums.length < Math.ceil(end / page)) {
      const grown = new Uint32Array(Math.max(Math.ceil(end / page), sums.length * 2));
      grown.set(sums);
      sums = grown;
    }
    for (let at = 0; at < chunk.byteLength; at += page) sums[(offset + at) / page] = crc32c(chunk.subarray(at, Math.min(at + page, chunk.byteLength)));
    // hnswlib's delete mark: bit 0 of byte 2 of each level-0 record.
    for (let i = Math.max(0, Math.ceil((offset - HEADER_BYTES - 2) / per)), at = HEADER_BYTES + i * per + 2; i < count && at < end; i++, at += per) {
      deleted += chunk[at - offset]! & 1;
    }
    if (end > upperStart) upperParts.push(Buffer.from(chunk.subarray(Math.max(0, upperStart - offset))));
    also?.(chunk, offset);
  });
  const pages = Math.ceil(sum.bytes / page);
  const area = Buffer.concat(upperParts);
  const entries: number[] = [];
  for (let i = 0, off = 0; i < count; i++) {
    // A walk over every element (a million at 1M): the event loop gets a turn whenever one is due.
    if ((i & 0xff) === 0xff && overdue()) await nextTurn();
    if (off + 4 > area.byteLength) throw new CorruptionError(name, `upper-level lists end early, at element ${i}`);
    const size = area.readUInt32LE(off);
    if (size % perLevel !== 0 || off + 4 + size > area.byteLength) throw new CorruptionError(name, `element ${i}'s upper-level lists are out of bounds`);
    if (size > 0) entries.push(i, size / perLevel);
    off += 4 + size;
  }
  const shape = Buffer.alloc(SHAPE_BYTES);
  shape.writeBigUInt64LE(BigInt(sum.bytes), 0);
  shape.writeUInt32LE(sum.crc32c >>> 0, 8);
  shape.writeUInt32LE(PAGE_LOG2, 12);
  shape.writeBigUInt64LE(BigInt(pages), 16);
  shape.writeBigUInt64LE(BigInt(count), 24);
  shape.writeBigUInt64LE(BigInt(deleted), 32);
  shape.writeBigUInt64LE(BigInt(upperStart), 40);
  shape.writeBigUInt64LE(BigInt(entries.length / 2), 48);
  // The sums as little-endian u32 (a typed array's own order on the platforms this runs on, checked).
  const sumBytes = Buffer.alloc(pages * 4);
  if (LITTLE_ENDIAN) sumBytes.set(new Uint8Array(sums.buffer, 0, pages * 4));
  else for (let p = 0; p < pages; p++) sumBytes.writeUInt32LE(sums[p]! >>> 0, p * 4);
  const upper = Buffer.alloc(entries.length * 4);
  entries.forEach((v, i) => upper.writeUInt32LE(v, i * 4));
  const chunks = encodeSectioned('graphSidecar', SIDECAR_VERSION, [
    { kind: SectionKind.graphShape, payload: shape },
    { kind: SectionKind.pageSums, payload: sumBytes },
    { kind: SectionKind.upperLevels, payload: upper },
  ]);
  return { sum, chunks };
}

/** A sidecar's bytes, already checked against the manifest's size and CRC: its structure, and the graph it names. */
export function decodeGraphSidecar(bytes: Uint8Array, file: string): GraphSidecar {
  const parsed = decodeSectioned(bytes, 'graphSidecar', file);
  if (parsed.version !== SIDECAR_VERSION) throw new CorruptionError(file, `version ${parsed.version} is not ${SIDECAR_VERSION}`);
  const shape = requireSection(parsed, SectionKind.graphShape, file, 'GRAPH_SHAPE');
  if (shape.byteLength !== SHAPE_BYTES) throw new CorruptionError(file, `GRAPH_SHAPE is ${shape.byteLength} bytes, not ${SHAPE_BYTES}`);
  const view = Buffer.from(shape.buffer, shape.byteOffset, shape.byteLength);
  const graphBytes = view.readBigUInt64LE(0);
  if (graphBytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptionError(file, 'names a graph size out of range');
  return {
    graphBytes: Number(graphBytes),
    graphCrc: view.readUInt32LE(8),
    shape,
    sums: requireSection(parsed, SectionKind.pageSums, file, 'PAGE_SUMS'),
    upper: requireSection(parsed, SectionKind.upperLevels, file, 'UPPER_LEVELS'),
  };
}

/**
 * The sidecar must describe `graph` (the manifest's size and CRC for it); given the graph's
 * bytes (`quiver check` has read them whole), every page sum must match them too.
 */
export function checkSidecar(sidecar: GraphSidecar, graph: { path: string; bytes: number; crc32c: number }, file: string, graphBytes?: Uint8Array): void {
  if (sidecar.graphBytes !== graph.bytes || sidecar.graphCrc >>> 0 !== graph.crc32c >>> 0) throw new CorruptionError(file, `describes another graph than ${graph.path}`);
  if (!graphBytes) return;
  const log2 = Buffer.from(sidecar.shape.buffer, sidecar.shape.byteOffset, SHAPE_BYTES).readUInt32LE(12);
  const page = 2 ** log2;
  const sums = Buffer.from(sidecar.sums.buffer, sidecar.sums.byteOffset, sidecar.sums.byteLength);
  if (log2 < 12 || log2 > 24 || sums.byteLength !== Math.ceil(graphBytes.byteLength / page) * 4) throw new CorruptionError(file, 'page sums do not cover the graph');
  for (let p = 0; p * page < graphBytes.byteLength; p++) {
    if (crc32c(graphBytes.subarray(p * page, (p + 1) * page)) >>> 0 !== sums.readUInt32LE(p * 4)) throw new CorruptionError(file, `page ${p}'s sum does not match ${graph.path}`);
  }
}
