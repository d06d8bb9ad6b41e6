import type { LocalEmbedMeta, LocalEmbedTable } from './localembed-file.js';
import { addWord, rowSlots, unit, type LexicalPart } from './lexical.js';

/**
 * The default_v2 algorithm (FORMAT.md ".localembed", "default_v2"): default_v1's weighted sum
 * of word vectors over a larger, centred table, with identifiers split into their words, and
 * the table's common directions removed from the sum (Arora et al. 2017) before normalising.
 * Everything it needs is in the artifact: the rows, the weights, and `components`.
 */
export interface LocalEmbedMetaV2 extends LocalEmbedMeta {
  /** How WORD_WEIGHTS were derived (informative: the weights section is what counts). */
  weighting: 'sif' | 'usif';
  /** Split an out-of-vocabulary token at case and letter/digit changes and add its known parts. */
  splitIdentifiers: boolean;
  /** Unit vectors whose projections are removed from a text's sum, in order. */
  components: number[][];
  /** The hashed bag of words appended to the word-vector part (absent: none; lexical.ts). */
  lexical?: LexicalPart;
}

const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;
/** Parts of an identifier: "parseHTTPHeader2" -> parse, HTTP, Header, 2. */
const PART = /\p{Lu}+(?![\p{Ll}\p{M}])|\p{Lu}?[\p{Ll}\p{M}]+|\p{N}+|[\p{L}\p{M}]+/gu;

export function isV2(meta: LocalEmbedMeta): meta is LocalEmbedMetaV2 {
  return meta.model === 'default_v2';
}

/** The length of a v2 embedding: the rows' dimension plus the hashed words' dimensions. */
export function v2Dimension(meta: LocalEmbedMetaV2): number {
  return meta.dimension + (meta.lexical?.dims ?? 0);
}

/** What embedding with a v2 table needs, prepared once per table. */
export interface V2Context {
  table: LocalEmbedTable;
  index: Map<string, number>;
  /** weight × scale per row: one multiply per word instead of two. */
  factors: Float32Array;
  /** An out-of-vocabulary word's fixed unit vector (default_v1's hashed vector), memoised. */
  hashed: (word: string) => Float64Array;
  /** With a lexical part: each row's signed slots, precomputed (lexical.ts rowSlots). */
  slots: Int32Array | null;
}

const OOV_CACHE = 20_000;

export function v2Context(table: LocalEmbedTable, index: Map<string, number>, hashed: (word: string, dim: number) => Float64Array): V2Context {
  const factors = Float32Array.from(table.weights, (w, i) => w * table.scales[i]!);
  const cache = new Map<string, Float64Array>();
  const dim = table.meta.dimension;
  const lexical = (table.meta as LocalEmbedMetaV2).lexical;
  return {
    table,
    index,
    factors,
    slots: lexical ? rowSlots(lexical, table.vocabulary) : null,
    hashed: (word) => {
      let v = cache.get(word);
      if (!v) {
        if (cache.size >= OOV_CACHE) cache.clear();
        cache.set(word, (v = hashed(word, dim)));
      }
      return v;
    },
  };
}

/** NFKC leaves ASCII as it is: skip it for ASCII text (most text). */
const ASCII = /^[\x00-\x7f]*$/;

/**
 * One text's embedding, or null when it has no tokens. `termWeight` (queries only) multiplies
 * each word's contribution to both parts.
 */
export function embedV2(ctx: V2Context, text: string, termWeight?: (term: string) => number): Float32Array | null {
  const meta = ctx.table.meta as LocalEmbedMetaV2;
  const lexical = meta.lexical ? new Float64Array(meta.lexical.dims) : undefined;
  const sum = sumV2(ctx, text, termWeight, lexical);
  if (sum === null) return null;
  return finishV2(meta, sum, lexical ? unit(lexical) : null);
}

/**
 * The un-normalised sum for one text (float64), or null when it has no tokens. `termWeight`
 * (queries only) multiplies each word's contribution. `lexical` (with a lexical part) receives
 * the un-normalised hashed bag of the text's whole tokens (lexical.ts).
 */
export function sumV2(ctx: V2Context, text: string, termWeight?: (term: string) => number, lexical?: Float64Array): Float64Array | null {
  const { table, index, factors } = ctx;
  const meta = table.meta as LocalEmbedMetaV2;
  const vectors = table.vectors;
  const dim = meta.dimension;
  const acc = new Float64Array(dim);
  const add = (row: number, m: number) => {
    const k = m * factors[row]!;
    const base = row * dim;
    for (let j = 0; j < dim; j++) acc[j]! += k * vectors[base + j]!;
  };
  const oov = meta.oovWeight * meta.oovNorm;
  const lex: LexicalPart | null = lexical && meta.lexical ? meta.lexical : null;
  const counts = lex ? new Map<string, number>() : null;
  let words = 0;
  for (const token of (ASCII.test(text) ? text : text.normalize('NFKC')).match(TOKEN) ?? []) {
    words++;
    const lower = token.toLowerCase();
    const m = termWeight ? termWeight(lower) : 1;
    const row = index.get(lower);
    if (counts) {
      const n = (counts.get(lower) ?? 0) + 1;
      counts.set(lower, n);
      addWord(lex!, lexical!, lower, row === undefined ? 1 : table.weights[row]!, m, n, row === undefined ? null : ctx.slots, row ?? 0);
    }
    if (row !== undefined) {
      add(row, m);
      continue;
    }
    const v = ctx.hashed(lower);
    const k = m * oov;
    for (let j = 0; j < dim; j++) acc[j]! += k * v[j]!;
    if (!meta.splitIdentifiers) continue;
    const parts = token.match(PART);
    if (!parts || parts.length < 2) continue;
    for (const part of parts) {
      const p = part.toLowerCase();
      const r = index.get(p);
      if (r !== undefined) add(r, termWeight ? termWeight(p) : 1);
    }
  }
  return words === 0 ? null : acc;
}

/**
 * Removes the common components and normalises; a sum made only of them keeps its direction.
 * With a lexical part (a unit vector or zeros), the result is the word-vector part times
 * sqrt(1 - weight) followed by the lexical part times sqrt(weight), normalised again, so a
 * cosine is (1 - weight) x the word vectors' cosine + weight x the hashed words' cosine.
 */
export function finishV2(meta: LocalEmbedMetaV2, acc: Float64Array, lexical: Float64Array | null = null): Float32Array {
  const dim = meta.dimension;
  const out = meta.components.length > 0 ? Float64Array.from(acc) : acc;
  for (const c of meta.components) {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += out[j]! * c[j]!;
    for (let j = 0; j < dim; j++) out[j]! -= dot * c[j]!;
  }
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += out[j]! * out[j]!;
  const v = norm > 1e-12 ? out : acc;
  norm = Math.sqrt(norm > 1e-12 ? norm : acc.reduce((s, x) => s + x * x, 0)) || 1;
  if (!lexical || !meta.lexical) return Float32Array.from(v, (x) => x / norm);
  // Both parts are unit vectors (the lexical one may be all zeros): the concatenation's norm is
  // known, 1, or sqrt(1 - weight) when the lexical part is zeros.
  const w = meta.lexical.weight;
  const total = lexical.every((x) => x === 0) ? Math.sqrt(1 - w) : 1;
  const a = Math.sqrt(1 - w) / norm / total;
  const b = Math.sqrt(w) / total;
  const result = new Float32Array(dim + lexical.length);
  for (let j = 0; j < dim; j++) result[j] = v[j]! * a;
  for (let j = 0; j < lexical.length; j++) result[dim + j] = lexical[j]! * b;
  return result;
}
