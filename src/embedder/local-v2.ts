import type { LocalEmbedMeta, LocalEmbedTable } from './localembed-file.js';

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
}

const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;
/** Parts of an identifier: "parseHTTPHeader2" -> parse, HTTP, Header, 2. */
const PART = /\p{Lu}+(?![\p{Ll}\p{M}])|\p{Lu}?[\p{Ll}\p{M}]+|\p{N}+|[\p{L}\p{M}]+/gu;

export function isV2(meta: LocalEmbedMeta): meta is LocalEmbedMetaV2 {
  return meta.model === 'default_v2';
}

/**
 * The un-normalised sum for one text (float64), or null when it has no tokens. `hashed` gives
 * an out-of-vocabulary word its fixed pseudo-random unit vector (default_v1's).
 */
export function sumV2(table: LocalEmbedTable, index: Map<string, number>, text: string, hashed: (word: string, dim: number) => Float64Array): Float64Array | null {
  const meta = table.meta as LocalEmbedMetaV2;
  const { weights, scales, vectors } = table;
  const dim = meta.dimension;
  const acc = new Float64Array(dim);
  const add = (row: number) => {
    const k = weights[row]! * scales[row]!;
    const base = row * dim;
    for (let j = 0; j < dim; j++) acc[j]! += k * vectors[base + j]!;
  };
  let words = 0;
  for (const token of text.normalize('NFKC').match(TOKEN) ?? []) {
    words++;
    const lower = token.toLowerCase();
    const row = index.get(lower);
    if (row !== undefined) {
      add(row);
      continue;
    }
    const v = hashed(lower, dim);
    const k = meta.oovWeight * meta.oovNorm;
    for (let j = 0; j < dim; j++) acc[j]! += k * v[j]!;
    if (!meta.splitIdentifiers) continue;
    const parts = token.match(PART);
    if (!parts || parts.length < 2) continue;
    for (const part of parts) {
      const r = index.get(part.toLowerCase());
      if (r !== undefined) add(r);
    }
  }
  return words === 0 ? null : acc;
}

/** Removes the common components and normalises; a sum made only of them keeps its direction. */
export function finishV2(meta: LocalEmbedMetaV2, acc: Float64Array): Float32Array {
  const dim = meta.dimension;
  const out = Float64Array.from(acc);
  for (const c of meta.components) {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += out[j]! * c[j]!;
    for (let j = 0; j < dim; j++) out[j]! -= dot * c[j]!;
  }
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += out[j]! * out[j]!;
  const v = norm > 1e-12 ? out : acc;
  norm = Math.sqrt(norm > 1e-12 ? norm : acc.reduce((s, x) => s + x * x, 0)) || 1;
  return Float32Array.from(v, (x) => x / norm);
}
