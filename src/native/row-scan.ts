import type { Metric } from '../format/identity.js';
import { nativeAddon } from './mapped-graph.js';

interface ScanAddon {
  scanRows(buffer: ArrayBuffer, byteOffset: number, strideBytes: number, dim: number, rows: Uint32Array, labels: Uint32Array | null, query: Float32Array, k: number, metric: number, outLabels: Uint32Array, outDistances: Float64Array, outRows: Uint32Array): number;
}

const METRIC_CODE: Record<Metric, number> = { l2: 0, ip: 1, cosine: 2 };

/** The run, rows and label arguments of native/scan.c's scanRows, as src/vault/row-scan.ts names them. */
export interface RowRun {
  buffer: ArrayBuffer;
  byteOffset: number;
  strideBytes: number;
}

let outLabels = new Uint32Array(16);
let outDistances = new Float64Array(16);
let outRows = new Uint32Array(16);

/**
 * The exact k nearest of `rows` of a run (native/scan.c): the distances and order of
 * src/vault/exact-search.ts's exactTopK over the same vectors, to the bit. Null when the addon is
 * not built, is an older build without the scan, or QUIVER_NATIVE=0.
 */
export function nativeRowScanner(): ((run: RowRun, dimension: number, rows: Uint32Array, labels: Uint32Array | null, query: Float32Array, k: number, metric: Metric) => { label: number; distance: number }[]) | null {
  const lib = nativeAddon() as ScanAddon | null;
  if (!lib?.scanRows) return null;
  return (scanner ??= (run, dimension, rows, labels, query, k, metric) => {
    if (outLabels.length < k) {
      outLabels = new Uint32Array(k);
      outDistances = new Float64Array(k);
      outRows = new Uint32Array(k);
    }
    const n = lib.scanRows(run.buffer, run.byteOffset, run.strideBytes, dimension, rows, labels, query, k, METRIC_CODE[metric], outLabels, outDistances, outRows);
    const out = new Array<{ label: number; distance: number }>(n);
    for (let i = 0; i < n; i++) out[i] = { label: outLabels[i]!, distance: outDistances[i]! };
    return out;
  });
}

let scanner: ReturnType<typeof nativeRowScanner> = null;
