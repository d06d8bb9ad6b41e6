import type { Metric } from '../format/identity.js';
import type { FileSystem } from '../fs/file-system.js';
import { CORRECTED, EXCEPTION_BYTES, GRAPH_HEADER, HEAD_BYTES, correctionBytes, graphShape, stepDown, stepUp } from './graph-vectors.js';

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
  // Rows are in label order: a label's row by binary search, so memory follows the rows, not the
  // largest label (labels only grow under churn).
  const rowOfLabel = (label: number): number => {
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = rows.label(mid);
      if (at === label) return mid;
      if (at < label) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };
  const elements = new Uint32Array(n).fill(0xffffffff);
  const fix = corrected ? new Uint8Array(n * stride) : null;
  const fixView = fix ? new DataView(fix.buffer) : null;
  // Per row, its exceptions' (component, bits) pairs, in component order: [exceptionsAt, exceptionsEnd).
  const exceptions: number[] = [];
  const exceptionsAt = corrected ? new Int32Array(n) : null;
  const exceptionsEnd = corrected ? new Int32Array(n) : null;
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
    // 512 KiB a read: the per-element work between two awaits stays a few ms (4 MiB stalled 54-117 ms at 788k).
    const batch = Math.max(1, Math.floor((512 << 10) / shape.per));
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
        const row = rowOfLabel(label);
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
  const out = new Uint8Array(HEAD_BYTES + 4 * n + (fix?.byteLength ?? 0) + EXCEPTION_BYTES * count);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, corrected ? CORRECTED : 0, true);
  view.setUint32(8, count, true);
  new Uint32Array(out.buffer, HEAD_BYTES, n).set(elements);
  if (fix) out.set(fix, HEAD_BYTES + 4 * n);
  let at = HEAD_BYTES + 4 * n + (fix?.byteLength ?? 0);
  if (count > 0) {
    for (let row = 0; row < n; row++) {
      for (let i = exceptionsAt![row]!; i < exceptionsEnd![row]!; i += 2) {
        view.setUint32(at, row, true);
        view.setUint32(at + 4, exceptions[i]!, true);
        view.setUint32(at + 8, exceptions[i + 1]!, true);
        at += EXCEPTION_BYTES;
      }
    }
  }
  return out;
}

