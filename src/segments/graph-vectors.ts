import { CorruptionError } from '../errors.js';

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
export const HEAD_BYTES = 16;
export const EXCEPTION_BYTES = 12;
export const CORRECTED = 1;

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

  /** A section of no rows: the base of a writer's block whose rows all come from checkpoints. */
  static empty(dimension: number, corrected: boolean): GraphRows {
    const head = new Uint8Array(HEAD_BYTES);
    new DataView(head.buffer).setUint32(4, corrected ? CORRECTED : 0, true);
    return new GraphRows(head, dimension, '(no rows)');
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
      // Straight to each non-zero code (most are 0): its lowest set bit, rounded down to the pair.
      while (word !== 0) {
        const shift = (31 - Math.clz32(word & -word)) & ~1;
        const code = (word >>> shift) & 3;
        word = (word & ~(3 << shift)) >>> 0;
        const j = w * 16 + (shift >>> 1);
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

  /** Copies row `row`'s correction as stored (its scale, then its codes) to `into` at `at`: a checkpoint carrying the row into a new section unchanged. */
  copyCorrection(row: number, into: DataView, at: number): void {
    const from = this.fixView!;
    for (let b = 0, base = row * this.stride; b < this.stride; b += 4) into.setUint32(at + b, from.getUint32(base + b, true), true);
  }

  /** Appends row `row`'s exceptions to `out` as (component, bits) pairs, in component order. */
  exceptionsOf(row: number, out: number[]): void {
    for (let e = this.firstException(row); e < this.excRows.length && this.excRows[e] === row; e++) out.push(this.excComponents[e]!, this.excValues[e]!);
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
export function stepUp(b: number): number {
  if (b === 0x80000000) return 1;
  return b & 0x80000000 ? b - 1 : b + 1;
}

export function stepDown(b: number): number {
  if (b === 0 || b === 0x80000000) return 0x80000001;
  return b & 0x80000000 ? b + 1 : b - 1;
}

/**
 * `quiver check`: every row of a GRAPH_VECTORS section resolves in `graph` (the file, read
 * whole and checked against the manifest): its element exists, is live, carries the row's label,
 * and its correction decodes. Throws CorruptionError naming `file` (the segment) otherwise.
 */
export function checkGraphRows(rows: GraphRows, graph: Uint8Array, labelOf: (row: number) => number, file: string, only?: { live: (row: number) => boolean; seen: Uint8Array }): void {
  if (graph.byteLength < GRAPH_HEADER || graph.byteOffset % 4 !== 0) throw new CorruptionError(file, 'its graph is shorter than its header');
  const shape = graphShape(graph);
  const d = rows.dimension;
  if (shape.labelOff - shape.dataOff !== 4 * d || GRAPH_HEADER + shape.count * shape.per > graph.byteLength) throw new CorruptionError(file, 'its graph does not hold vectors of this dimension');
  const view = Buffer.from(graph.buffer, graph.byteOffset, graph.byteLength);
  const floats = new Float32Array(graph.buffer, graph.byteOffset, Math.floor(graph.byteLength / 4));
  const out = new Float32Array(d);
  const bits = new Uint32Array(out.buffer);
  // With `only` (a base segment and its deltas, FORMAT.md "Delta segments"): just the rows still
  // records, and no element named twice across the files.
  const seen = only?.seen ?? new Uint8Array(shape.count);
  if (seen.length < shape.count) throw new CorruptionError(file, 'its graph is not the one the other files were checked against');
  for (let row = 0; row < rows.count; row++) {
    if (only && !only.live(row)) continue;
    const e = rows.elements[row]!;
    const at = GRAPH_HEADER + e * shape.per;
    if (e >= shape.count || seen[e]) throw new CorruptionError(file, `row ${row} names graph element ${e}, which is out of range or another row's`);
    seen[e] = 1;
    if ((view[at + 2]! & 1) !== 0 || view.readBigUInt64LE(at + shape.labelOff) !== BigInt(labelOf(row))) throw new CorruptionError(file, `graph element ${e} does not hold row ${row} (label ${labelOf(row)})`);
    rows.reconstruct(row, floats, (at + shape.dataOff) / 4, out, bits, 0, file);
  }
}
