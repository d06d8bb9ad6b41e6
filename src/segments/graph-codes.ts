import { CorruptionError } from '../errors.js';
import { crc32c } from '../format/crc.js';
import { checksumFile } from '../fs/checksum.js';
import type { FileSystem } from '../fs/file-system.js';
import { GRAPH_HEADER, graphShape, type GraphShape } from './graph-vectors.js';

/**
 * FORMAT.md "Graph codes": `vault_<n>_<epoch>.hnsw.q8`, written beside a saved graph when the
 * database's index has `quantization: 'int8'`. It holds the graph's level-0 links and labels and
 * each element's vector as one byte per dimension; a mapped reader searches it (native/codes.c)
 * and re-ranks the best by the float32 vectors of the graph, which then need not stay in memory.
 */

export const CODES_VERSION = 1;
const KIND_INT8 = 1;
const HEADER_BYTES = 64;
const PAGE_LOG2 = 12;
/** Graph bytes read per step of the encoder: about 4 MiB of whole records. */
const READ_BYTES = 4 << 20;

/**
 * The range of every component over a graph's vectors, gathered from the chunks of one read of
 * the graph (summarizeGraph's, or checksumFile's): the codes' scales come from it.
 */
export class CodeRanges {
  readonly lo: Float32Array;
  readonly hi: Float32Array;
  shape: GraphShape | null = null;

  constructor(readonly dimension: number) {
    this.lo = new Float32Array(dimension).fill(Infinity);
    this.hi = new Float32Array(dimension).fill(-Infinity);
  }

  /** Chunks in order from offset 0, each starting at a multiple of 4 bytes (checksumFile's are 4 MiB). */
  readonly observe = (chunk: Uint8Array, offset: number): void => {
    if (offset === 0) this.shape = shapeOf(chunk, this.dimension);
    const shape = this.shape;
    if (!shape) return;
    const bytes = chunk.byteOffset % 4 === 0 ? chunk : Uint8Array.from(chunk);
    const f = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    const end = offset + chunk.byteLength;
    const { lo, hi, dimension: d } = this;
    for (let r = Math.max(0, Math.floor((offset - GRAPH_HEADER) / shape.per)); r < shape.count; r++) {
      const data = GRAPH_HEADER + r * shape.per + shape.dataOff;
      if (data >= end) break;
      const base = (data - offset) / 4;
      for (let j = Math.max(0, -base), last = Math.min(d, (end - data) >> 2); j < last; j++) {
        const v = f[base + j]!;
        if (v < lo[j]!) lo[j] = v;
        if (v > hi[j]!) hi[j] = v;
      }
    }
  };
}

/** The graph's header, which must describe vectors of this dimension. */
function shapeOf(head: Uint8Array, dimension: number): GraphShape {
  if (head.byteLength < GRAPH_HEADER) throw new CorruptionError('graph', 'shorter than its header');
  const shape = graphShape(head);
  if (shape.per !== shape.dataOff + 4 * dimension + 8 || shape.labelOff !== shape.dataOff + 4 * dimension) throw new CorruptionError('graph', 'header does not describe vectors of this dimension');
  return shape;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * Writes the codes of the graph `graphFile` (whose size and CRC32C are `graph`) to `codesFile`,
 * synced, from `ranges` gathered over that graph, and returns the file's size and CRC32C. The
 * graph is read a second time, in about 4 MiB of whole records a step, each step one turn.
 */
export async function writeGraphCodes(fs: FileSystem, graphFile: string, codesFile: string, ranges: CodeRanges, graph: { bytes: number; crc32c: number }): Promise<{ bytes: number; crc32c: number }> {
  const shape = ranges.shape;
  if (!shape) throw new CorruptionError(graphFile, 'was not read before its codes were written');
  const d = ranges.dimension;
  const stride = align(shape.dataOff + 8 + d, 4);
  const rowsOff = align(HEADER_BYTES + 8 * d, 64);
  const lo = new Float32Array(d);
  const step = new Float32Array(d);
  const inv = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const a = ranges.lo[j]!;
    const b = ranges.hi[j]!;
    lo[j] = Number.isFinite(a) ? a : 0;
    step[j] = Number.isFinite(a) && Number.isFinite(b) && b > a ? (b - a) / 255 : 0;
    inv[j] = step[j]! > 0 ? 1 / step[j]! : 0;
  }
  // The square of each decoded component, by dimension and code (the float32 value, squared in double).
  const squares = new Float64Array(d * 256);
  for (let j = 0; j < d; j++) {
    for (let u = 0; u < 256; u++) {
      const back = Math.fround(lo[j]! + step[j]! * u);
      squares[j * 256 + u] = back * back;
    }
  }
  const pageSize = 1 << PAGE_LOG2;
  const sumsOff = rowsOff + shape.count * stride;
  const sums = Buffer.alloc(Math.ceil(sumsOff / pageSize) * 4);
  let written = 0;
  let pageCrc = 0;
  let fileCrc = 0;
  /** Page sums over the bytes before the table, as they pass. */
  const account = (chunk: Uint8Array): void => {
    fileCrc = crc32c(chunk, fileCrc);
    for (let at = 0; at < chunk.byteLength; ) {
      const room = pageSize - (written % pageSize);
      const n = Math.min(room, chunk.byteLength - at);
      pageCrc = crc32c(chunk.subarray(at, at + n), pageCrc);
      written += n;
      at += n;
      if (written % pageSize === 0 || written === sumsOff) {
        sums.writeUInt32LE(pageCrc >>> 0, (Math.ceil(written / pageSize) - 1) * 4);
        pageCrc = 0;
      }
    }
  };

  const head = Buffer.alloc(rowsOff);
  head.write('QVQ8', 0, 'latin1');
  head.writeUInt32LE(CODES_VERSION, 4);
  head.writeUInt32LE(KIND_INT8, 8);
  head.writeUInt32LE(d, 12);
  head.writeBigUInt64LE(BigInt(shape.count), 16);
  head.writeUInt32LE(shape.dataOff, 24);
  head.writeUInt32LE(stride, 28);
  head.writeBigUInt64LE(BigInt(rowsOff), 32);
  head.writeUInt32LE(PAGE_LOG2, 40);
  head.writeUInt32LE(graph.crc32c >>> 0, 44);
  head.writeBigUInt64LE(BigInt(graph.bytes), 48);
  head.writeUInt32LE(crc32c(head.subarray(0, 60)) >>> 0, 60);
  Buffer.from(lo.buffer).copy(head, HEADER_BYTES);
  Buffer.from(step.buffer).copy(head, HEADER_BYTES + 4 * d);

  const fd = fs.openSync(graphFile, 'read');
  try {
    const perStep = Math.max(1, Math.floor(READ_BYTES / shape.per));
    const input = Buffer.allocUnsafe(perStep * shape.per);
    const floats = new Float32Array(input.buffer, input.byteOffset, input.byteLength >> 2);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      account(head);
      yield head;
      for (let first = 0; first < shape!.count; first += perStep) {
        const n = Math.min(perStep, shape!.count - first);
        const want = n * shape!.per;
        for (let got = 0; got < want; ) {
          const r = await fs.read(fd, input.subarray(got, want), GRAPH_HEADER + first * shape!.per + got);
          if (r === 0) throw new CorruptionError(graphFile, 'ends before its last record');
          got += r;
        }
        const out = Buffer.alloc(n * stride);
        for (let i = 0; i < n; i++) encodeRow(input, floats, i * shape!.per, out, i * stride, shape!, lo, inv, squares);
        account(out);
        yield out;
      }
      // The page sums, then their own CRC32C: the file's last 4 bytes.
      const trailer = Buffer.alloc(4);
      trailer.writeUInt32LE(crc32c(sums) >>> 0, 0);
      fileCrc = crc32c(trailer, crc32c(sums, fileCrc));
      yield sums;
      yield trailer;
    }
    await fs.writeFileSynced(codesFile, chunks());
    return { bytes: sumsOff + sums.byteLength + 4, crc32c: fileCrc >>> 0 };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * One row: the record's level-0 links as they are (count word and delete mark included), its
 * label (32 bits), the squared norm of its decoded vector, then a byte per component.
 */
function encodeRow(input: Buffer, floats: Float32Array, at: number, out: Buffer, to: number, shape: GraphShape, lo: Float32Array, inv: Float64Array, squares: Float64Array): void {
  input.copy(out, to, at, at + shape.dataOff);
  const l = at + shape.labelOff;
  if (input.readUInt32LE(l + 4) !== 0) throw new CorruptionError('graph', `holds label ${input.readBigUInt64LE(l)}, beyond 32 bits`);
  out.writeUInt32LE(input.readUInt32LE(l), to + shape.dataOff);
  const f0 = (at + shape.dataOff) >> 2;
  const c0 = to + shape.dataOff + 8;
  let sq = 0;
  for (let j = 0, d = lo.length; j < d; j++) {
    // x >= lo[j] (lo is the smallest over this graph): Math.round(v) is floor(v + 0.5) there.
    let u = ((floats[f0 + j]! - lo[j]!) * inv[j]! + 0.5) | 0;
    u = u < 0 ? 0 : u > 255 ? 255 : u;
    out[c0 + j] = u;
    sq += squares[(j << 8) | u]!;
  }
  out.writeFloatLE(sq, to + shape.dataOff + 4);
}

/** The codes of a graph already on disk (a vault whose graph is kept while the database turns quantization on). */
export async function writeCodesFor(fs: FileSystem, graphFile: string, codesFile: string, dimension: number, expected: { path: string; bytes: number; crc32c: number }): Promise<{ bytes: number; crc32c: number }> {
  const ranges = new CodeRanges(dimension);
  const graph = await checksumFile(fs, graphFile, ranges.observe);
  // The graph as the manifest names it, or no codes: codes of a damaged graph would never match it.
  if (graph.bytes !== expected.bytes || graph.crc32c >>> 0 !== expected.crc32c >>> 0) throw new CorruptionError(expected.path, 'does not match the size and checksum the manifest records for it');
  return writeGraphCodes(fs, graphFile, codesFile, ranges, graph);
}

/**
 * `quiver check`: a codes file read whole (and already matched to the manifest's size and CRC)
 * must be of the graph the manifest names beside it, and every page must match its sum, as a
 * reader would find on first use.
 */
export function checkCodes(bytes: Uint8Array, graph: { path: string; bytes: number; crc32c: number }, name: string, dimension: number, graphHeader?: Uint8Array): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new CorruptionError(name, why);
  };
  if (b.byteLength < HEADER_BYTES || b.toString('latin1', 0, 4) !== 'QVQ8') fail('not a codes file (magic)');
  if (crc32c(b.subarray(0, 60)) >>> 0 !== b.readUInt32LE(60)) fail('header does not match its checksum');
  if (b.readUInt32LE(4) !== CODES_VERSION || b.readUInt32LE(8) !== KIND_INT8) fail('a version or kind this build does not read');
  if (b.readUInt32LE(44) !== graph.crc32c >>> 0 || Number(b.readBigUInt64LE(48)) !== graph.bytes) fail(`made for another graph than ${graph.path}`);
  // The layout: this build's for the dimension, and (given the graph's header) the graph's count and link lists.
  const links = b.readUInt32LE(24);
  if (b.readUInt32LE(12) !== dimension || b.readUInt32LE(28) !== align(links + 8 + dimension, 4) || Number(b.readBigUInt64LE(32)) !== align(HEADER_BYTES + 8 * dimension, 64)) fail('header\'s layout is not this dimension\'s');
  if (graphHeader) {
    const shape = shapeOf(graphHeader, dimension);
    if (Number(b.readBigUInt64LE(16)) !== shape.count || links !== shape.dataOff) fail(`made for another graph than ${graph.path} (count or links)`);
  }
  const log2 = b.readUInt32LE(40);
  const sumsOff = Number(b.readBigUInt64LE(32)) + Number(b.readBigUInt64LE(16)) * b.readUInt32LE(28);
  const page = 2 ** log2;
  const pages = Math.ceil(sumsOff / page);
  if (log2 < 12 || log2 > 24 || b.byteLength !== sumsOff + 4 * pages + 4) fail('file size does not match its header');
  if (crc32c(b.subarray(sumsOff, sumsOff + 4 * pages)) >>> 0 !== b.readUInt32LE(b.byteLength - 4)) fail('page sums do not match their checksum');
  for (let p = 0; p < pages; p++) {
    if (crc32c(b.subarray(p * page, Math.min(sumsOff, (p + 1) * page))) >>> 0 !== b.readUInt32LE(sumsOff + 4 * p)) fail(`page ${p} does not match its checksum`);
  }
}
