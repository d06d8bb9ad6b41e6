import type { Metric } from '../format/identity.js';
import { StorageError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { nextTurn, overdue } from '../util/loop-turns.js';
import { CORRECTED, EXCEPTION_BYTES, GRAPH_HEADER, HEAD_BYTES, correctionBytes, graphShape, stepDown, stepUp, type GraphShape } from './graph-vectors.js';
import type { GraphRowSet } from './graph-row-set.js';
import { indexInAscending } from '../util/sorted-search.js';

/**
 * The checkpoint's side of GRAPH_VECTORS (FORMAT.md "Segment files"; graph-vectors.ts reads it):
 * each row's graph element and, under cosine, the scale and codes that give its vector back.
 */

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
 * The graph a vault's rows were read from until now (a mapped block's, GraphVectorBlock.previous())
 * and its section: a row whose element in the new graph is the one it had there, with the same
 * label and the same floats, has the same correction, so it is copied instead of being made again
 * from the row's vector (which a mapped writer would fault into memory to read).
 */
export interface PreviousGraph {
  rows: GraphRowSet;
  shape: GraphShape;
  /** Reads the previous graph at `position` (pread, nothing mapped is touched). */
  read(into: Uint8Array, position: number): Promise<number>;
  /** The previous section's row holding the record of row `row` (same vector), or -1. */
  rowOf(row: number): number;
  /** Set by the encoder: 1 for each previous row carried over unchanged. */
  kept: Uint8Array;
  /** Set by the encoder: how many rows were carried. */
  carried: number;
}

/** @internal Rows of corrections a block of the payload holds (3.2 MB at 384 dimensions). Tests lower it. */
export const graphVectorSlices = { rows: 1 << 15 };

/**
 * Builds the GRAPH_VECTORS payload, as its parts in order, for `rows` from the graph hnswlib
 * just wrote to `file`, read back in chunks. Null when the graph is not a home for every row's
 * vector: a row whose label no live element holds, or (l2, ip) whose element's floats are not
 * the row's bit for bit. The checkpoint then keeps VECTORS: vectors are only ever dropped from
 * the segment where the graph provably gives every one of them back exactly.
 */
/** The GRAPH_VECTORS payload as its parts in order, and any subset of its rows as a section of their own. */
export interface EncodedGraphVectors {
  parts: Uint8Array[];
  section(wanted: ArrayLike<number>): Promise<Uint8Array>;
}

/**
 * `only` (a delta segment's checkpoint, FORMAT.md "Delta segments"): keep the corrections of the
 * rows it marks, which section() may then be asked for; every row is still matched to its element
 * and checked, but the others' corrections are not kept (at 1M x 384, 100 MB), and `parts` is empty.
 */
export async function encodeGraphVectors(fs: FileSystem, file: string, rows: RowSource, dimension: number, metric: Metric, previous: PreviousGraph | null = null, only: Uint8Array | null = null): Promise<EncodedGraphVectors | null> {
  const n = rows.length;
  const d = dimension;
  const corrected = metric === 'cosine';
  const stride = correctionBytes(d);
  const maxLabel = n > 0 ? rows.label(n - 1) : -1;
  // Rows are in label order: a label's row by binary search, so memory follows the rows, not the
  // largest label (labels only grow under churn).
  const rowOfLabel = (label: number): number => indexInAscending(n, (row) => rows.label(row), label);
  const elements = new Uint32Array(n).fill(0xffffffff);
  // The corrections in blocks of graphVectorSlices.rows rows, each made when a row first needs
  // it and written out as it is: one buffer the size of the section (100 MB at 1M x 384), made
  // up front and copied into the payload at the end, stalled the event loop 40-200 ms at 788k.
  // Every row gets an element or the function returns null, so every block is made.
  const perBlock = graphVectorSlices.rows;
  const fixBlocks: (DataView | undefined)[] = new Array(corrected ? Math.ceil(n / perBlock) : 0).fill(undefined);
  // A row whose correction is not kept is made in (or copied into) one scratch row.
  const scratch = new DataView(new ArrayBuffer(stride));
  const kept = (row: number): boolean => only === null || only[row] === 1;
  const fixBlock = (row: number): DataView => {
    if (!kept(row)) return scratch;
    const b = Math.floor(row / perBlock);
    return (fixBlocks[b] ??= new DataView(new ArrayBuffer(Math.min(perBlock, n - b * perBlock) * stride)));
  };
  const fixAt = (row: number): number => (kept(row) ? (row % perBlock) * stride : 0);
  // Per row, its exceptions' (component, bits) pairs, in component order: [exceptionsAt, exceptionsEnd).
  const exceptions: number[] = [];
  const exceptionsAt = corrected ? new Int32Array(n) : null;
  const exceptionsEnd = corrected ? new Int32Array(n) : null;
  const r = new Float32Array(d);
  const rBits = new Uint32Array(r.buffer);
  const codes = new Uint32Array(Math.ceil(d / 16));
  const bestCodes = new Uint32Array(codes.length);
  const vCopy = new Float32Array(d);
  const vBits = new Uint32Array(vCopy.buffer);
  const nb = new Float32Array(1);
  const nbBits = new Uint32Array(nb.buffer);
  const fd = fs.openSync(file, 'read');
  try {
    const header = Buffer.alloc(GRAPH_HEADER);
    if ((await fs.read(fd, header, 0)) !== GRAPH_HEADER) return null;
    const shape = graphShape(header);
    if (shape.dataOff % 4 !== 0 || shape.per % 4 !== 0) return null;
    // 512 KiB a read (4 MiB reads stalled 54-117 ms at 788k, before the turns in the loop).
    const batch = Math.max(1, Math.floor((512 << 10) / shape.per));
    const chunk = Buffer.allocUnsafeSlow(batch * shape.per);
    // The previous graph is read beside the new one, element for element: records only ever
    // take new elements or reuse erased ones, so a kept record's element is at the same place.
    const before = previous && previous.shape.per === shape.per && previous.shape.dataOff === shape.dataOff && previous.shape.labelOff === shape.labelOff ? previous : null;
    const oldChunk = before ? Buffer.allocUnsafeSlow(chunk.byteLength) : null;
    const carriedFrom: number[] = [];
    const floats = new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4);
    const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4);
    for (let e0 = 0; e0 < shape.count; e0 += batch) {
      const e1 = Math.min(shape.count, e0 + batch);
      const length = (e1 - e0) * shape.per;
      if ((await fs.read(fd, chunk.subarray(0, length), GRAPH_HEADER + e0 * shape.per)) !== length) return null;
      const oldEnd = before ? Math.min(e1, before.shape.count) : e0;
      if (oldEnd > e0 && (await before!.read(oldChunk!.subarray(0, (oldEnd - e0) * shape.per), GRAPH_HEADER + e0 * shape.per)) !== (oldEnd - e0) * shape.per) return null;
      for (let e = e0; e < e1; e++) {
        // A turn whenever one is due, not per read: a process's first checkpoint runs this loop
        // unoptimised, tens of ms a read.
        if ((e & 15) === 0 && overdue()) await nextTurn();
        const at = (e - e0) * shape.per;
        if (chunk[at + 2]! & 1) continue; // hnswlib's delete mark
        const label = words[(at + shape.labelOff) / 4]!;
        if (words[(at + shape.labelOff) / 4 + 1]! !== 0 || label > maxLabel) continue;
        const row = rowOfLabel(label);
        if (row < 0) continue;
        if (elements[row] !== 0xffffffff) return null;
        elements[row] = e;
        const o = e < oldEnd ? before!.rowOf(row) : -1;
        const vAt = at + shape.dataOff;
        if (o >= 0 && before!.rows.element(o) === e && before!.rows.label(o) === label && chunk.compare(oldChunk!, vAt, vAt + 4 * d, vAt, vAt + 4 * d) === 0) {
          before!.kept[o] = 1;
          before!.carried++;
          if (corrected) {
            before!.rows.copyCorrection(o, fixBlock(row), fixAt(row));
            carriedFrom.length = 0;
            before!.rows.exceptionsOf(o, carriedFrom);
            if (carriedFrom.length > 0 && kept(row)) {
              exceptionsAt![row] = exceptions.length;
              for (const x of carriedFrom) exceptions.push(x);
              exceptionsEnd![row] = exceptions.length;
            }
          }
          continue;
        }
        const uAt = vAt / 4;
        const v = rows.vector(row);
        // Into scratch (a same-type set copies bytes): no view object per row for the collector.
        vCopy.set(v);
        if (!corrected) {
          for (let j = 0; j < d; j++) if (words[uAt + j] !== vBits[j]) return null;
          continue;
        }
        // The scale hnswlib-node divided by, then its neighbours (and 1): the one needing fewest exceptions.
        const norm = floatNorm(vCopy);
        let best = norm;
        let fewest = codeRow(vBits, floats, uAt, norm, r, rBits, bestCodes);
        if (fewest > 0) {
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
        const fix = fixBlock(row);
        const fixed = fixAt(row);
        fix.setFloat32(fixed, best, true);
        for (let w = 0; w < bestCodes.length; w++) fix.setUint32(fixed + 4 + 4 * w, bestCodes[w]!, true);
        if (fewest > 0 && kept(row)) {
          exceptionsAt![row] = exceptions.length;
          for (let j = 0; j < d; j++) if (((bestCodes[j >>> 4]! >>> ((j & 15) * 2)) & 3) === 3) exceptions.push(j, vBits[j]!);
          exceptionsEnd![row] = exceptions.length;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  for (let row = 0; row < n; row++) if (elements[row] === 0xffffffff) return null;
  // Exceptions in (row, component) order: rows were met in element order, so they are walked by
  // row here (no sort, no object per exception: a 1M-row vault can have hundreds of thousands).
  const count = exceptions.length / 2;
  const head = new DataView(new ArrayBuffer(HEAD_BYTES));
  head.setUint32(0, n, true);
  head.setUint32(4, corrected ? CORRECTED : 0, true);
  head.setUint32(8, count, true);
  const listed = new DataView(new ArrayBuffer(EXCEPTION_BYTES * count));
  let at = 0;
  if (count > 0) {
    for (let row = 0; row < n; row++) {
      for (let i = exceptionsAt![row]!; i < exceptionsEnd![row]!; i += 2) {
        listed.setUint32(at, row, true);
        listed.setUint32(at + 4, exceptions[i]!, true);
        listed.setUint32(at + 8, exceptions[i + 1]!, true);
        at += EXCEPTION_BYTES;
      }
    }
  }
  const bytes = (view: DataView | Uint32Array): Uint8Array => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const parts = only ? [] : [bytes(head), bytes(elements), ...fixBlocks.map((block) => bytes(block!)), bytes(listed)].filter((part) => part.byteLength > 0);
  /** A GRAPH_VECTORS section of just rows `wanted` (ascending), renumbered from 0 in that order. */
  const section = async (wanted: ArrayLike<number>): Promise<Uint8Array> => {
    const k = wanted.length;
    for (let i = 0; i < k; i++) if (!kept(wanted[i]!)) throw new StorageError('DATABASE_FAILED', 'internal: a GRAPH_VECTORS row asked for whose correction was not kept');
    let listedCount = 0;
    if (exceptionsAt) for (let i = 0; i < k; i++) listedCount += (exceptionsEnd![wanted[i]!]! - exceptionsAt[wanted[i]!]!) / 2;
    const out = new DataView(new ArrayBuffer(HEAD_BYTES + 4 * k + (corrected ? k * stride : 0) + EXCEPTION_BYTES * listedCount));
    out.setUint32(0, k, true);
    out.setUint32(4, corrected ? CORRECTED : 0, true);
    out.setUint32(8, listedCount, true);
    const fixAt = HEAD_BYTES + 4 * k;
    let exc = fixAt + (corrected ? k * stride : 0);
    for (let i = 0; i < k; i++) {
      // Made after the commit, while searches run: the event loop gets its turns.
      if ((i & 1023) === 0 && overdue()) await nextTurn();
      const row = wanted[i]!;
      out.setUint32(HEAD_BYTES + 4 * i, elements[row]!, true);
      if (!corrected) continue;
      const from = fixBlocks[Math.floor(row / perBlock)]!;
      for (let b = 0, at = (row % perBlock) * stride; b < stride; b += 4) out.setUint32(fixAt + i * stride + b, from.getUint32(at + b, true), true);
      for (let x = exceptionsAt![row]!; x < exceptionsEnd![row]!; x += 2, exc += EXCEPTION_BYTES) {
        out.setUint32(exc, i, true);
        out.setUint32(exc + 4, exceptions[x]!, true);
        out.setUint32(exc + 8, exceptions[x + 1]!, true);
      }
    }
    return new Uint8Array(out.buffer);
  };
  return { parts, section };
}

