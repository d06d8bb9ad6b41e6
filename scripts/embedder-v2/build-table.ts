import type { LocalEmbedTable } from '../../src/embedder/localembed-file.js';
import type { LocalEmbedMetaV2 } from '../../src/embedder/local-v2.js';
import { PACKAGE, type WinkWords } from './wink-source.js';

export interface V2Options {
  /** Vocabulary size (default_v1: 50,000). */
  words: number;
  /** 'sif': a / (a + p); 'usif': a / (a/2 + p) (Ethayarajh 2018). */
  weighting: 'sif' | 'usif';
  /** The smoothing constant a. */
  a: number;
  /** Remove the frequency-weighted mean word vector and the top `abtt` principal directions from every word (Mu & Viswanath 2018). -1: leave the rows as they are. */
  abtt: number;
  /** Common directions removed from every text's weighted sum (Arora et al. 2017), found over `reference` texts. */
  components: number;
  reference?: string[];
  oovWeight: number;
  splitIdentifiers: boolean;
  /** Hashed bag-of-words dimensions appended (src/embedder/lexical.ts); 0: none. */
  lexicalDims: number;
  /** The lexical part's share of a cosine. */
  lexicalWeight: number;
}

/** default_v2 as shipped: each choice measured on the tuning split (README "Search quality"). */
export const V2_DEFAULTS: V2Options = { words: 100_000, weighting: 'sif', a: 1e-3, abtt: 1, components: 1, oovWeight: 0.5, splitIdentifiers: true, lexicalDims: 156, lexicalWeight: 0.5 };

/** Top principal directions of weighted rows by power iteration with deflation (deterministic start). */
function principal(rows: Float64Array[], weights: number[], count: number, dim: number): Float64Array[] {
  const found: Float64Array[] = [];
  for (let c = 0; c < count; c++) {
    let v = Float64Array.from({ length: dim }, (_, j) => 1 / Math.sqrt(dim) * (j % 2 ? 1 : -1));
    for (let iter = 0; iter < 50; iter++) {
      const next = new Float64Array(dim);
      rows.forEach((r, i) => {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += r[j]! * v[j]!;
        for (let j = 0; j < dim; j++) next[j]! += weights[i]! * dot * r[j]!;
      });
      for (const u of found) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += next[j]! * u[j]!;
        for (let j = 0; j < dim; j++) next[j]! -= dot * u[j]!;
      }
      const norm = Math.hypot(...next) || 1;
      v = next.map((x) => x / norm);
    }
    found.push(v);
  }
  return found;
}

/** A default_v2 table from the wink words under the given options. */
export function buildV2Table(src: WinkWords, o: V2Options, embedSum?: (table: LocalEmbedTable, text: string) => Float64Array): LocalEmbedTable {
  const dim = src.dimension;
  const n = Math.min(o.words, src.words.length);
  const harmonic = Array.from({ length: src.size }, (_, r) => 1 / (r + 1)).reduce((a, b) => a + b, 0);
  const p = src.ranks.slice(0, n).map((r) => 1 / ((r + 1) * harmonic));
  const weights = new Float32Array(n);
  for (let i = 0; i < n; i++) weights[i] = o.weighting === 'sif' ? o.a / (o.a + p[i]!) : o.a / (0.5 * o.a + p[i]!);
  const rows: Float64Array[] = [];
  for (let i = 0; i < n; i++) rows.push(Float64Array.from(src.rows.subarray(i * dim, (i + 1) * dim)));
  if (o.abtt >= 0) {
    const mean = new Float64Array(dim);
    const total = p.reduce((s, x) => s + x, 0);
    rows.forEach((r, i) => r.forEach((x, j) => (mean[j]! += (p[i]! / total) * x)));
    for (const r of rows) for (let j = 0; j < dim; j++) r[j]! -= mean[j]!;
    for (const u of principal(rows, p, o.abtt, dim)) {
      for (const r of rows) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += r[j]! * u[j]!;
        for (let j = 0; j < dim; j++) r[j]! -= dot * u[j]!;
      }
    }
  }
  const scales = new Float32Array(n);
  const vectors = new Int8Array(n * dim);
  let normSum = 0;
  rows.forEach((row, i) => {
    const max = row.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1;
    scales[i] = max / 127;
    for (let j = 0; j < dim; j++) vectors[i * dim + j] = Math.round((row[j]! / max) * 127);
    normSum += Math.hypot(...row);
  });
  const meta: LocalEmbedMetaV2 = {
    model: 'default_v2',
    revision: o.lexicalDims > 0 ? '2' : '1',
    dimension: dim,
    words: n,
    sifA: o.a,
    zipfN: src.size,
    oovWeight: o.oovWeight,
    oovNorm: Math.fround(normSum / n),
    source: `${PACKAGE}@${src.version} (GloVe 6B 100d, Public Domain Dedication and License v1.0)`,
    weighting: o.weighting,
    splitIdentifiers: o.splitIdentifiers,
    components: [],
  };
  if (o.lexicalDims > 0) meta.lexical = { dims: o.lexicalDims, weight: o.lexicalWeight, hashes: 2, tfPower: 0.5 };
  const table: LocalEmbedTable = { meta, vocabulary: src.words.slice(0, n), weights, scales, vectors };
  if (o.components > 0 && !o.reference) {
    // From the table alone: the expected direction of a text's weighted sum, E[w(t) v_t] with
    // t drawn by frequency, then the main directions of the weighted words around it.
    const q = table.vectors;
    const rowsQ = Array.from({ length: n }, (_, i) => Float64Array.from(q.subarray(i * dim, (i + 1) * dim), (x) => x * scales[i]! * weights[i]!));
    const mean = new Float64Array(dim);
    rowsQ.forEach((r, i) => r.forEach((x, j) => (mean[j]! += p[i]! * x)));
    const m = Math.hypot(...mean) || 1;
    const first = mean.map((x) => x / m);
    const rest = principal(rowsQ.map((r) => { let d = 0; for (let j = 0; j < dim; j++) d += r[j]! * first[j]!; return r.map((x, j) => x - d * first[j]!); }), p, o.components - 1, dim);
    meta.components = [first, ...rest].map((u) => Array.from(u, (x) => Math.fround(x)));
  }
  if (o.components > 0 && o.reference && embedSum) {
    const sums = o.reference.map((t) => embedSum(table, t));
    const units = sums.map((s) => s.map((x) => x / (Math.hypot(...s) || 1)));
    meta.components = principal(units, units.map(() => 1), o.components, dim).map((u) => Array.from(u, (x) => Math.fround(x)));
  }
  return table;
}
