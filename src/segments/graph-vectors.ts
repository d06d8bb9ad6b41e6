import { CorruptionError } from '../errors.js';
import type { Metric } from '../format/identity.js';
import type { FileSystem } from '../fs/file-system.js';

/**
 * FORMAT.md "Segment files", GRAPH_VECTORS: for an HNSW vault whose graph is saved with its
 * segment, the graph file is the only home of the vault's vectors. This section says, per
 * segment row, which graph element holds the row's vector, and, under cosine (where hnswlib-node
 * stores v / |v|), the smallest exact correction that gives back the float32 the user wrote:
 * a scale s per row, and per component a 2-bit code over r = fround(u × s): 0 r, 1 the next
 * float32 above r, 2 the next below, 3 an exception whose value is stored whole.
 */

/** hnswlib's saved header, and the fields of it this module reads (FORMAT.md "Segment files"). */
export const GRAPH_HEADER = 96;
const HEAD_BYTES = 16;
const EXCEPTION_BYTES = 12;
const CORRECTED = 1;

/** Bytes of one row's correction: the scale, then 2 bits per component in u32 words. */
export function correctionBytes(dimension: number): number {
  return 4 + 4 * Math.ceil(dimension / 16);
}

/** Where a graph's level-0 records are: what its header says. */
export interface GraphShape {
  count: number;
  /** size_data_per_element. */
  per: number;
  /** Offsets inside a level-0 record of the vector and of the label. */
  dataOff: number;
  labelOff: number;
}

export function graphShape(header: Uint8Array): GraphShape {
  const h = Buffer.from(header.buffer, header.byteOffset, GRAPH_HEADER);
  return { count: Number(h.readBigUInt64LE(16)), per: Number(h.readBigUInt64LE(24)), labelOff: Number(h.readBigUInt64LE(32)), dataOff: Number(h.readBigUInt64LE(40)) };
}

/** A GRAPH_VECTORS section, checked and viewed in place. */
export class GraphRows {
  readonly count: number;
  readonly corrected: boolean;
  /** Row i's vector is graph element elements[i]. */
  readonly elements: Uint32Array;
  private readonly fix: Uint8Array | null;
  private readonly fixView: DataView | null;
  private readonly fixWords: Uint32Array | null;
  private readonly excRows: Uint32Array;
  private readonly excComponents: Uint32Array;
  private readonly excValues: Uint32Array;
  private readonly stride: number;

  private constructor(bytes: Uint8Array, readonly dimension: number, file: string) {
    const fail = (why: string): never => {
      throw new CorruptionError(file, `GRAPH_VECTORS ${why}`);
    };
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
    if (bytes.byteLength < HEAD_BYTES) fail('is shorter than its header');
    const head = new DataView(bytes.buffer, bytes.byteOffset, HEAD_BYTES);
    const count = head.getUint32(0, true);
    const flags = head.getUint32(4, true);
    const exceptions = head.getUint32(8, true);
    if ((flags & ~CORRECTED) !== 0 || head.getUint32(12, true) !== 0) fail('has unknown flags');
    this.count = count;
    this.corrected = (flags & CORRECTED) !== 0;
    this.stride = correctionBytes(dimension);
    const fixLength = this.corrected ? count * this.stride : 0;
    if (!this.corrected && exceptions !== 0) fail('has exceptions without corrections');
    if (bytes.byteLength !== HEAD_BYTES + 4 * count + fixLength + EXCEPTION_BYTES * exceptions) fail('size does not match its counts');
    const at = bytes.byteOffset + HEAD_BYTES;
    this.elements = new Uint32Array(bytes.buffer, at, count);
    const fixAt = at + 4 * count;
    this.fix = this.corrected ? new Uint8Array(bytes.buffer, fixAt, fixLength) : null;
    this.fixView = this.fix ? new DataView(bytes.buffer, fixAt, fixLength) : null;
    this.fixWords = this.fix ? new Uint32Array(bytes.buffer, fixAt, fixLength / 4) : null;
    const exc = new Uint32Array(bytes.buffer, fixAt + fixLength, 3 * exceptions);
    this.excRows = new Uint32Array(exceptions);
    this.excComponents = new Uint32Array(exceptions);
    this.excValues = new Uint32Array(exceptions);
    for (let e = 0, lastRow = 0, lastComponent = -1; e < exceptions; e++) {
      const row = exc[3 * e]!;
      const component = exc[3 * e + 1]!;
      if (row >= count || component >= dimension || row < lastRow || (row === lastRow && component <= lastComponent)) fail('exceptions are out of order or out of range');
      this.excRows[e] = row;
      this.excComponents[e] = component;
      this.excValues[e] = exc[3 * e + 2]!;
      lastRow = row;
      lastComponent = component;
    }
  }

  static decode(bytes: Uint8Array, dimension: number, file: string): GraphRows {
    return new GraphRows(bytes, dimension, file);
  }

  /**
   * Writes row `row`'s vector into out[at, at + d): the graph's floats `u` (from `uAt`) as
   * they are, or corrected back to the float32 written. Deterministic IEEE float32 arithmetic:
   * fround(u × s) is the correctly rounded float32 product (a product of two float32 is exact in
   * a double), then a step of one float32 up or down, or the stored value.
   */
  reconstruct(row: number, u: Float32Array, uAt: number, out: Float32Array, outBits: Uint32Array, at: number, file: string): void {
    const d = this.dimension;
    if (!this.corrected) {
      out.set(u.subarray(uAt, uAt + d), at);
      return;
    }
    const base = row * this.stride;
    const scale = this.fixView!.getFloat32(base, true);
    // A Float32Array store rounds to nearest float32: the same as Math.fround, without the call.
    for (let j = 0; j < d; j++) out[at + j] = u[uAt + j]! * scale;
    const words = this.fixWords!;
    const w0 = (base + 4) / 4;
    let exc = -1;
    for (let w = 0; w * 16 < d; w++) {
      let word = words[w0 + w]!;
      if (word === 0) continue;
      for (let j = w * 16; word !== 0; j++, word >>>= 2) {
        const code = word & 3;
        if (code === 0) continue;
        if (j >= d) throw new CorruptionError(file, `GRAPH_VECTORS row ${row} corrects a component past the dimension`);
        const i = at + j;
        const b = outBits[i]!;
        if (code === 3) {
          if (exc < 0) exc = this.firstException(row);
          if (exc >= this.excRows.length || this.excRows[exc] !== row || this.excComponents[exc] !== j) throw new CorruptionError(file, `GRAPH_VECTORS row ${row} names an exception it does not hold`);
          outBits[i] = this.excValues[exc++]!;
        } else outBits[i] = code === 1 ? stepUp(b) : stepDown(b);
      }
    }
  }

  private firstException(row: number): number {
    let lo = 0;
    let hi = this.excRows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.excRows[mid]! < row) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The next float32 above the one with bits `b` (−0 and +0 are one point: above both is the least subnormal). */
function stepUp(b: number): number {
  if (b === 0x80000000) return 1;
  return b & 0x80000000 ? b - 1 : b + 1;
}

function stepDown(b: number): number {
  if (b === 0 || b === 0x80000000) return 0x80000001;
  return b & 0x80000000 ? b + 1 : b - 1;
}

/** hnswlib-node's |v| (normalizePoint: a float32 sum of float32 squares, then sqrt): the scale to try first. */
function floatNorm(v: Float32Array): number {
  let sum = 0;
  for (let j = 0; j < v.length; j++) sum = Math.fround(sum + Math.fround(v[j]! * v[j]!));
  return Math.fround(Math.sqrt(sum));
}

/**
 * Codes for one row at scale `scale` into `codes` (ceil(d/16) words); returns how many
 * components need an exception (code 3).
 */
function codeRow(v: Uint32Array, u: Float32Array, uAt: number, scale: number, r: Float32Array, rBits: Uint32Array, codes: Uint32Array): number {
  const d = v.length;
  codes.fill(0);
  let exceptions = 0;
  for (let j = 0; j < d; j++) r[j] = u[uAt + j]! * scale;
  for (let j = 0; j < d; j++) {
    const want = v[j]!;
    const b = rBits[j]!;
    let code: number;
    if (b === want) continue;
    else if (stepUp(b) === want) code = 1;
    else if (stepDown(b) === want) code = 2;
    else {
      code = 3;
      exceptions++;
    }
    codes[j >>> 4]! |= code << ((j & 15) * 2);
  }
  return exceptions;
}

/** What a checkpoint needs of a vault's records: label order, and each record's vector. */
export interface RowSource {
  length: number;
  label(row: number): number;
  vector(row: number): Float32Array;
}

/**
 * Builds the GRAPH_VECTORS payload for `rows` from the graph hnswlib just wrote to `file`, read
 * back in chunks. Null when the graph is not a home for every row's vector: a row whose label no
 * live element holds, or (l2, ip) whose element's floats are not the row's bit for bit. The
 * checkpoint then keeps VECTORS: vectors are only ever dropped from the segment where the graph
 * provably gives every one of them back exactly.
 */
export async function encodeGraphVectors(fs: FileSystem, file: string, rows: RowSource, dimension: number, metric: Metric): Promise<Uint8Array | null> {
  const n = rows.length;
  const d = dimension;
  const corrected = metric === 'cosine';
  const stride = correctionBytes(d);
  const maxLabel = n > 0 ? rows.label(n - 1) : -1;
  const rowOfLabel = new Int32Array(maxLabel + 1).fill(-1);
  for (let row = 0; row < n; row++) rowOfLabel[rows.label(row)] = row;
  const elements = new Uint32Array(n).fill(0xffffffff);
  const fix = corrected ? new Uint8Array(n * stride) : null;
  const fixView = fix ? new DataView(fix.buffer) : null;
  const exceptions: number[] = [];
  const r = new Float32Array(d);
  const rBits = new Uint32Array(r.buffer);
  const codes = new Uint32Array(Math.ceil(d / 16));
  const bestCodes = new Uint32Array(codes.length);
  const fd = fs.openSync(file, 'read');
  try {
    const header = Buffer.alloc(GRAPH_HEADER);
    if ((await fs.read(fd, header, 0)) !== GRAPH_HEADER) return null;
    const shape = graphShape(header);
    if (shape.dataOff % 4 !== 0 || shape.per % 4 !== 0) return null;
    const batch = Math.max(1, Math.floor((4 << 20) / shape.per));
    const chunk = Buffer.allocUnsafeSlow(batch * shape.per);
    const floats = new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4);
    const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4);
    for (let e0 = 0; e0 < shape.count; e0 += batch) {
      const e1 = Math.min(shape.count, e0 + batch);
      const length = (e1 - e0) * shape.per;
      if ((await fs.read(fd, chunk.subarray(0, length), GRAPH_HEADER + e0 * shape.per)) !== length) return null;
      for (let e = e0; e < e1; e++) {
        const at = (e - e0) * shape.per;
        if (chunk[at + 2]! & 1) continue; // hnswlib's delete mark
        const label = words[(at + shape.labelOff) / 4]!;
        if (words[(at + shape.labelOff) / 4 + 1]! !== 0 || label > maxLabel) continue;
        const row = rowOfLabel[label]!;
        if (row < 0) continue;
        if (elements[row] !== 0xffffffff) return null;
        elements[row] = e;
        const uAt = (at + shape.dataOff) / 4;
        const v = rows.vector(row);
        const vBits = new Uint32Array(v.buffer, v.byteOffset, d);
        if (!corrected) {
          for (let j = 0; j < d; j++) if (words[uAt + j] !== vBits[j]) return null;
          continue;
        }
        // The scale hnswlib-node divided by, then its neighbours (and 1): the one needing fewest exceptions.
        const norm = floatNorm(v);
        let best = norm;
        let fewest = codeRow(vBits, floats, uAt, norm, r, rBits, bestCodes);
        if (fewest > 0) {
          const nb = new Float32Array(1);
          const nbBits = new Uint32Array(nb.buffer);
          // Last, 1: a row whose float32 norm underflowed to 0 is stored as written.
          for (const step of [1, -1, 2, -2, 3, -3, 0]) {
            nb[0] = norm;
            nbBits[0] = nbBits[0]! + step;
            if (step === 0) nb[0] = 1;
            if (!Number.isFinite(nb[0]!) || nb[0]! <= 0) continue;
            const got = codeRow(vBits, floats, uAt, nb[0]!, r, rBits, codes);
            if (got < fewest) {
              fewest = got;
              best = nb[0]!;
              bestCodes.set(codes);
              if (got === 0) break;
            }
          }
        }
        fixView!.setFloat32(row * stride, best, true);
        for (let w = 0; w < bestCodes.length; w++) fixView!.setUint32(row * stride + 4 + 4 * w, bestCodes[w]!, true);
        if (fewest > 0) {
          for (let j = 0; j < d; j++) if (((bestCodes[j >>> 4]! >>> ((j & 15) * 2)) & 3) === 3) exceptions.push(row, j, vBits[j]!);
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  for (let row = 0; row < n; row++) if (elements[row] === 0xffffffff) return null;
  // Exceptions in (row, component) order: rows were met in element order.
  const triples: [number, number, number][] = [];
  for (let i = 0; i < exceptions.length; i += 3) triples.push([exceptions[i]!, exceptions[i + 1]!, exceptions[i + 2]!]);
  triples.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Uint8Array(HEAD_BYTES + 4 * n + (fix?.byteLength ?? 0) + EXCEPTION_BYTES * triples.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, corrected ? CORRECTED : 0, true);
  view.setUint32(8, triples.length, true);
  new Uint32Array(out.buffer, HEAD_BYTES, n).set(elements);
  if (fix) out.set(fix, HEAD_BYTES + 4 * n);
  let at = HEAD_BYTES + 4 * n + (fix?.byteLength ?? 0);
  for (const [row, j, bits] of triples) {
    view.setUint32(at, row, true);
    view.setUint32(at + 4, j, true);
    view.setUint32(at + 8, bits, true);
    at += EXCEPTION_BYTES;
  }
  return out;
}

/**
 * `quiver check`: every row of a GRAPH_VECTORS section resolves in `graph` (the file, read
 * whole and checked against the manifest): its element exists, is live, carries the row's label,
 * and its correction decodes. Throws CorruptionError naming `file` (the segment) otherwise.
 */
export function checkGraphRows(rows: GraphRows, graph: Uint8Array, labelOf: (row: number) => number, file: string): void {
  if (graph.byteLength < GRAPH_HEADER || graph.byteOffset % 4 !== 0) throw new CorruptionError(file, 'its graph is shorter than its header');
  const shape = graphShape(graph);
  const d = rows.dimension;
  if (shape.labelOff - shape.dataOff !== 4 * d || GRAPH_HEADER + shape.count * shape.per > graph.byteLength) throw new CorruptionError(file, 'its graph does not hold vectors of this dimension');
  const view = Buffer.from(graph.buffer, graph.byteOffset, graph.byteLength);
  const floats = new Float32Array(graph.buffer, graph.byteOffset, Math.floor(graph.byteLength / 4));
  const out = new Float32Array(d);
  const bits = new Uint32Array(out.buffer);
  const seen = new Uint8Array(shape.count);
  for (let row = 0; row < rows.count; row++) {
    const e = rows.elements[row]!;
    const at = GRAPH_HEADER + e * shape.per;
    if (e >= shape.count || seen[e]) throw new CorruptionError(file, `row ${row} names graph element ${e}, which is out of range or another row's`);
    seen[e] = 1;
    if ((view[at + 2]! & 1) !== 0 || view.readBigUInt64LE(at + shape.labelOff) !== BigInt(labelOf(row))) throw new CorruptionError(file, `graph element ${e} does not hold row ${row} (label ${labelOf(row)})`);
    rows.reconstruct(row, floats, (at + shape.dataOff) / 4, out, bits, 0, file);
  }
}
