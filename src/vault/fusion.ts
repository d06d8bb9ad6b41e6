import type { Metric } from '../format/identity.js';
import { byCodeUnits } from '../util/code-units.js';

/**
 * Hybrid fusion (README "Full-text and hybrid search"): one vector ranking and one BM25 ranking of the same
 * records, merged into one. Two rules:
 * - 'weighted' (the default): a convex combination of the two rankings' normalised scores,
 *   `textWeight` on text and the rest on vectors (min-max across the vector ranking). The text
 *   score mixes the record's own BM25 (divided by the best) with, `documentWeight` of it, its
 *   document's BM25 over all the document's chunks (divided by the best document's), given to
 *   the document's best record: a chunk that matches part of a query scores higher when the
 *   rest of its document matches the rest (passage and document evidence combined, as in
 *   Callan 1994). A record absent from a ranking
 *   scores 0 there. With the default weights BM25 keeps its order where its scores are far
 *   apart, and the vector ranking decides its near-ties and the queries whose words match no
 *   document.
 * - 'rrf': reciprocal rank fusion, sum of 1 / (rrfK + rank); ignores scores, so a weak vector
 *   match counts as much as a strong text match at the same rank.
 */
export type FusionRule = 'rrf' | 'weighted';

/** The default text weight, chosen on the evaluation's tuning split (eval/search, README). */
export const DEFAULT_TEXT_WEIGHT = 0.85;
/** The default share of the text score that is document-level BM25 (chosen the same way). */
export const DEFAULT_DOCUMENT_WEIGHT = 0.6;
export const DEFAULT_RRF_K = 60;

export interface Ranking {
  id: string;
  score: number;
}

export interface Fused {
  id: string;
  score: number;
  ranks: { vector?: number; text?: number };
  scores: { vector?: number; text?: number; document?: number };
}

/** Document-level BM25 for weighted fusion: each record's document, their scores, the best. */
export interface DocumentScores {
  docOf: (id: string) => string | undefined;
  scores: ReadonlyMap<string, number>;
  best: number;
}

export interface FusionOptions {
  rule: FusionRule;
  textWeight: number;
  /** Weighted fusion with document scores: their share of the text score. */
  documentWeight?: number;
  rrfK: number;
  metric: Metric;
}

/**
 * Maps a vector score to [0, 1] across the ranking, best 1, worst 0 (l2 scores are distances:
 * lower is better). Min-max, not relative to the best: cosine similarities of a ranking bunch
 * within a few hundredths, and only spreading them lets the vector side break BM25's near-ties.
 */
function vectorNormaliser(scores: number[], metric: Metric): (x: number) => number {
  if (scores.length === 0) return () => 0;
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  if (hi === lo) return () => 1;
  return metric === 'l2' ? (x) => (hi - x) / (hi - lo) : (x) => (x - lo) / (hi - lo);
}

export function fuse(byVector: readonly Ranking[], byText: readonly Ranking[], o: FusionOptions, byDocument: DocumentScores | null = null): Fused[] {
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
    const wd = byDocument && byDocument.best > 0 ? (o.documentWeight ?? DEFAULT_DOCUMENT_WEIGHT) : 0;
    // Each record first scores on its own (the document's share of the text weight left out)...
    const bestOf = new Map<string, Fused>();
    for (const e of fused.values()) {
      const v = e.scores.vector === undefined ? 0 : nv(e.scores.vector);
      const t = e.scores.text === undefined || bestText <= 0 ? 0 : e.scores.text / bestText;
      e.score = (1 - wt) * v + wt * (1 - wd) * t;
      const doc = wd > 0 ? byDocument!.docOf(e.id) : undefined;
      if (doc === undefined || !byDocument!.scores.has(doc)) continue;
      e.scores.document = byDocument!.scores.get(doc)!;
      const best = bestOf.get(doc);
      if (!best || e.score > best.score || (e.score === best.score && byCodeUnits(e.id, best.id) < 0)) bestOf.set(doc, e);
    }
    // ...then the document's BM25 goes to its best record only: a document's other chunks do not
    // all rise together (ten chunks of one document), and the best chunk per document (groupBy
    // '$doc') ranks documents exactly as if every chunk had it.
    for (const [doc, e] of bestOf) e.score += (wt * wd * byDocument!.scores.get(doc)!) / byDocument!.best;
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || byCodeUnits(a.id, b.id));
}

/** The fusion a search's options ask for (already validated by checkSearchOptions). */
export function fusionOptions(options: { fusion?: FusionRule | { vector: number; text: number }; textWeight?: number; documentWeight?: number; rrfK?: number }, metric: Metric): FusionOptions {
  const f = options.fusion ?? 'weighted';
  const rrfK = options.rrfK ?? DEFAULT_RRF_K;
  const documentWeight = options.documentWeight ?? DEFAULT_DOCUMENT_WEIGHT;
  if (typeof f === 'object') return { rule: 'weighted', textWeight: f.text / (f.vector + f.text), documentWeight, rrfK, metric };
  return { rule: f, textWeight: options.textWeight ?? DEFAULT_TEXT_WEIGHT, documentWeight, rrfK, metric };
}

/** The mode of a search that names none: hybrid for text over documents, else vector. */
export function defaultMode(textQuery: boolean, documents: number): 'vector' | 'hybrid' {
  return textQuery && documents > 0 ? 'hybrid' : 'vector';
}
