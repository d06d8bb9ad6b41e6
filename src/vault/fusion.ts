import type { Metric } from '../format/identity.js';

/**
 * Hybrid fusion (README "Hybrid search"): one vector ranking and one BM25 ranking of the same
 * records, merged into one. Two rules:
 * - 'weighted' (the default): a convex combination of each ranking's scores normalised to
 *   [0, 1] by that ranking's best score (and the metric's range for vectors), with weight
 *   `textWeight` on text. A record absent from a ranking scores 0 there. Because BM25 scores
 *   are spread far apart at the top while cosine similarities bunch, a high text weight keeps
 *   BM25's order where it is sure and lets the vector ranking decide near-ties and queries
 *   whose words match nothing.
 * - 'rrf': reciprocal rank fusion, sum of 1 / (rrfK + rank); ignores scores, so a weak vector
 *   match counts as much as a strong text match at the same rank.
 */
export type FusionRule = 'rrf' | 'weighted';

/** The default text weight, chosen on the evaluation's tuning split (eval/search, README). */
export const DEFAULT_TEXT_WEIGHT = 0.95;
export const DEFAULT_RRF_K = 60;

export interface Ranking {
  id: string;
  score: number;
}

export interface Fused {
  id: string;
  score: number;
  ranks: { vector?: number; text?: number };
  scores: { vector?: number; text?: number };
}

export interface FusionOptions {
  rule: FusionRule;
  textWeight: number;
  rrfK: number;
  metric: Metric;
}

/** Maps a vector score to [0, 1], higher better, relative to the ranking's best. */
function vectorNormaliser(scores: number[], metric: Metric): (x: number) => number {
  if (scores.length === 0) return () => 0;
  if (metric === 'cosine') {
    // Cosine similarity: from [-1, 1] to [0, 1], then relative to the best.
    const best = (Math.max(...scores) + 1) / 2 || 1;
    return (x) => (x + 1) / 2 / best;
  }
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  if (hi === lo) return () => 1;
  // l2 scores are distances (lower is better); ip is unbounded: min-max both.
  return metric === 'l2' ? (x) => (hi - x) / (hi - lo) : (x) => (x - lo) / (hi - lo);
}

export function fuse(byVector: readonly Ranking[], byText: readonly Ranking[], o: FusionOptions): Fused[] {
  const fused = new Map<string, Fused>();
  const entry = (id: string): Fused => {
    let e = fused.get(id);
    if (!e) fused.set(id, (e = { id, score: 0, ranks: {}, scores: {} }));
    return e;
  };
  byVector.forEach((h, i) => Object.assign(entry(h.id), { ranks: { ...entry(h.id).ranks, vector: i + 1 }, scores: { ...entry(h.id).scores, vector: h.score } }));
  byText.forEach((h, i) => Object.assign(entry(h.id), { ranks: { ...entry(h.id).ranks, text: i + 1 }, scores: { ...entry(h.id).scores, text: h.score } }));
  if (o.rule === 'rrf') {
    for (const e of fused.values()) e.score = (e.ranks.vector ? 1 / (o.rrfK + e.ranks.vector) : 0) + (e.ranks.text ? 1 / (o.rrfK + e.ranks.text) : 0);
  } else {
    const nv = vectorNormaliser(byVector.map((h) => h.score), o.metric);
    const bestText = byText[0]?.score ?? 0;
    const wt = byText.length === 0 ? 0 : o.textWeight;
    for (const e of fused.values()) {
      const v = e.scores.vector === undefined ? 0 : nv(e.scores.vector);
      const t = e.scores.text === undefined || bestText <= 0 ? 0 : e.scores.text / bestText;
      e.score = (1 - wt) * v + wt * t;
    }
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The fusion a search's options ask for (already validated by checkSearchOptions). */
export function fusionOptions(options: { fusion?: FusionRule | { vector: number; text: number }; textWeight?: number; rrfK?: number }, metric: Metric): FusionOptions {
  const f = options.fusion ?? 'weighted';
  const rrfK = options.rrfK ?? DEFAULT_RRF_K;
  if (typeof f === 'object') return { rule: 'weighted', textWeight: f.text / (f.vector + f.text), rrfK, metric };
  return { rule: f, textWeight: options.textWeight ?? DEFAULT_TEXT_WEIGHT, rrfK, metric };
}

/** The mode of a search that names none: hybrid for text over documents, else vector. */
export function defaultMode(textQuery: boolean, documents: number): 'vector' | 'hybrid' {
  return textQuery && documents > 0 ? 'hybrid' : 'vector';
}
