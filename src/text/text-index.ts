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
  /**
   * Each record's document and each document's length and record count, for scoreDocuments.
   * Kept up to date from the first add; a loaded index (segments do not store documents) has
   * null until scoreDocuments first needs it and rebuilds it from the records.
   */
  private docs: DocumentLengths | null = { of: new Map(), lengths: new Map() };
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

  /**
   * Indexes `id`'s text, replacing an earlier version whose text was `previous`. `doc` is the
   * document the record belongs to (a chunk's docId; by default the record itself).
   */
  add(id: string, text: string, previous: string | null, doc: string = id): void {
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
    if (this.docs) addLength(this.docs, id, doc, terms.length);
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
    if (this.docs) removeLength(this.docs, id, length);
  }

  /**
   * All matching documents (any query term) with their BM25 scores, unordered. `extra` terms
   * (a hybrid search's query acronyms) count as query terms too, each once.
   */
  score(query: string, params: Bm25Params = {}, extra: readonly string[] = []): TextHit[] {
    const k1 = params.k1 ?? 1.2;
    const b = params.b ?? 0.75;
    const n = this.lengths.size;
    if (n === 0) return [];
    const avg = this.totalLength / n || 1;
    const scores = new Map<string, number>();
    for (const term of new Set([...textTerms(query), ...extra])) {
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

  /**
   * BM25 over whole documents instead of records: a document's term frequency is the sum of its
   * records' (a chunked document's chunks), its length their sum, and idf counts documents, over
   * every indexed document. Only records `keep` accepts lend their terms (a filter's hidden
   * records add nothing). `docOf` names a record's document; it is asked only when a loaded
   * index first needs its documents. Unordered, documents with a positive score. `extra` as for
   * score().
   */
  scoreDocuments(query: string, docOf: (id: string) => string, keep: ((id: string) => boolean) | null, params: Bm25Params = {}, extra: readonly string[] = []): Map<string, number> {
    const k1 = params.k1 ?? 1.2;
    const b = params.b ?? 0.75;
    const docs = (this.docs ??= rebuildLengths(this.lengths, docOf));
    const n = docs.lengths.size;
    const scores = new Map<string, number>();
    if (n === 0) return scores;
    const avg = this.totalLength / n || 1;
    for (const term of new Set([...textTerms(query), ...extra])) {
      const list = this.postings.get(term);
      if (!list) continue;
      const tf = new Map<string, number>();
      const containing = new Set<string>();
      for (const [id, count] of list) {
        const doc = docs.of.get(id)!;
        containing.add(doc);
        if (keep === null || keep(id)) tf.set(doc, (tf.get(doc) ?? 0) + count);
      }
      const idf = Math.log(1 + (n - containing.size + 0.5) / (containing.size + 0.5));
      for (const [doc, f] of tf) {
        const len = docs.lengths.get(doc)!.length;
        scores.set(doc, (scores.get(doc) ?? 0) + (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * len) / avg)));
      }
    }
    return scores;
  }

  /** The document of an indexed record, as scoreDocuments counted it (after its first call). */
  documentOf(id: string): string | undefined {
    return this.docs?.of.get(id);
  }

  /** For persistence: documents with lengths, and postings, both sorted. */
  dump(): { docs: [string, number][]; postings: [string, [string, number][]][] } {
    const by = (a: [string, unknown], b: [string, unknown]) => byCodeUnits(a[0], b[0]);
    return {
      docs: [...this.lengths].sort(by),
      postings: [...this.postings].sort(by).map(([t, list]) => [t, [...list].sort(by)]),
    };
  }

  /** Loaded from segments, which do not record documents: scoreDocuments rebuilds them. */
  static load(data: { docs: [string, number][]; postings: [string, [string, number][]][] }): TextIndex {
    const index = new TextIndex();
    for (const [id, len] of data.docs) {
      index.lengths.set(id, len);
      index.totalLength += len;
    }
    for (const [t, list] of data.postings) index.postings.set(t, new Map(list));
    index.docs = null;
    return index;
  }
}

interface DocumentLengths {
  of: Map<string, string>;
  lengths: Map<string, { length: number; records: number }>;
}

function addLength(docs: DocumentLengths, id: string, doc: string, length: number): void {
  docs.of.set(id, doc);
  const entry = docs.lengths.get(doc);
  if (entry) {
    entry.length += length;
    entry.records++;
  } else {
    docs.lengths.set(doc, { length, records: 1 });
  }
}

function removeLength(docs: DocumentLengths, id: string, length: number): void {
  const doc = docs.of.get(id);
  if (doc === undefined) return;
  docs.of.delete(id);
  const entry = docs.lengths.get(doc)!;
  entry.length -= length;
  if (--entry.records === 0) docs.lengths.delete(doc);
}

function rebuildLengths(lengths: ReadonlyMap<string, number>, docOf: (id: string) => string): DocumentLengths {
  const docs: DocumentLengths = { of: new Map(), lengths: new Map() };
  for (const [id, length] of lengths) addLength(docs, id, docOf(id), length);
  return docs;
}
