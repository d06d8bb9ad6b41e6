import { textTerms } from './text-tokens.js';
import { byCodeUnits } from '../util/code-units.js';

export interface Bm25Params {
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalisation (default 0.75). */
  b?: number;
}

export interface TextHit {
  id: string;
  score: number;
}

/**
 * A vault's inverted index over document text, keyed by record id, scored with BM25:
 *   score(q, d) = sum over query terms t of idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avgLen))
 *   idf(t)      = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))
 * with N the indexed documents and n(t) those containing t. Maintained through the log (insert,
 * upsert, erase) and persisted in segments, so opening does not re-tokenise (`tokenized` counts).
 */
export class TextIndex {
  private readonly postings = new Map<string, Map<string, number>>();
  private readonly lengths = new Map<string, number>();
  private totalLength = 0;
  /** Documents tokenised by this index since it was created or loaded. */
  tokenized = 0;

  get documents(): number {
    return this.lengths.size;
  }

  get terms(): number {
    return this.postings.size;
  }

  /** How many indexed documents contain `term` (a textTerms term). */
  documentFrequency(term: string): number {
    return this.postings.get(term)?.size ?? 0;
  }

  /** Indexes `id`'s text, replacing an earlier version whose text was `previous`. */
  add(id: string, text: string, previous: string | null): void {
    this.remove(id, previous);
    const terms = textTerms(text);
    this.tokenized++;
    const counts = new Map<string, number>();
    for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, tf] of counts) {
      let list = this.postings.get(t);
      if (!list) this.postings.set(t, (list = new Map()));
      list.set(id, tf);
    }
    this.lengths.set(id, terms.length);
    this.totalLength += terms.length;
  }

  /** Removes a document; `text` (its old text) names its terms without scanning the index. */
  remove(id: string, text: string | null): void {
    const length = this.lengths.get(id);
    if (length === undefined) return;
    const terms = text === null ? [...this.postings.keys()] : new Set(textTerms(text));
    if (text !== null) this.tokenized++;
    for (const t of terms) {
      const list = this.postings.get(t);
      if (!list?.delete(id)) continue;
      if (list.size === 0) this.postings.delete(t);
    }
    this.lengths.delete(id);
    this.totalLength -= length;
  }

  /** All matching documents (any query term) with their BM25 scores, unordered. */
  score(query: string, params: Bm25Params = {}): TextHit[] {
    const k1 = params.k1 ?? 1.2;
    const b = params.b ?? 0.75;
    const n = this.lengths.size;
    if (n === 0) return [];
    const avg = this.totalLength / n || 1;
    const scores = new Map<string, number>();
    for (const term of new Set(textTerms(query))) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.size + 0.5) / (list.size + 0.5));
      for (const [id, tf] of list) {
        const len = this.lengths.get(id)!;
        scores.set(id, (scores.get(id) ?? 0) + (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * len) / avg)));
      }
    }
    return [...scores].map(([id, score]) => ({ id, score }));
  }

  /** For persistence: documents with lengths, and postings, both sorted. */
  dump(): { docs: [string, number][]; postings: [string, [string, number][]][] } {
    const by = (a: [string, unknown], b: [string, unknown]) => byCodeUnits(a[0], b[0]);
    return {
      docs: [...this.lengths].sort(by),
      postings: [...this.postings].sort(by).map(([t, list]) => [t, [...list].sort(by)]),
    };
  }

  static load(data: { docs: [string, number][]; postings: [string, [string, number][]][] }): TextIndex {
    const index = new TextIndex();
    for (const [id, len] of data.docs) {
      index.lengths.set(id, len);
      index.totalLength += len;
    }
    for (const [t, list] of data.postings) index.postings.set(t, new Map(list));
    return index;
  }
}
