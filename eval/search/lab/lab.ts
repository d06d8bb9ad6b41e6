/**
 * Research only: loads a dump (dump.ts) and replays document rankings. A method maps a query to
 * a score per document (higher first, ties by id); evaluate() reports recall@10 and MRR@10 per
 * split. Document-level BM25 is computed here from the chunks' terms, as the product would.
 */
import * as fs from 'node:fs';
import { textTerms } from '../../../src/text/text-tokens.js';

export interface Chunk { id: string; doc: string; index: number; text: string; vector: number[] }
export interface Q { query: string; relevant: string[]; split: string; text: [number, number][]; vector: number[]; bm: Float64Array; vs: Float64Array; rel: Set<string>; terms: string[] }
export interface Corpus {
  name: string; chunks: Chunk[]; queries: Q[]; docs: string[]; docIndex: Map<string, number>; chunkDoc: Int32Array;
  tf: Map<string, number>[]; len: number[]; vecs: Float64Array[];
}

export function load(name: string): Corpus {
  const raw = JSON.parse(fs.readFileSync(`${process.env.LAB ?? '/tmp/fusion/lab'}/${name}.json`, 'utf8')) as { chunks: Chunk[]; queries: Q[] };
  const docs = [...new Set(raw.chunks.map((c) => c.doc))].sort();
  const docIndex = new Map(docs.map((d, i) => [d, i]));
  const chunkDoc = Int32Array.from(raw.chunks, (c) => docIndex.get(c.doc)!);
  const tf: Map<string, number>[] = [];
  const len: number[] = [];
  for (const c of raw.chunks) {
    const t = textTerms(c.text);
    len.push(t.length);
    const m = new Map<string, number>();
    for (const w of t) m.set(w, (m.get(w) ?? 0) + 1);
    tf.push(m);
  }
  for (const q of raw.queries) {
    q.bm = new Float64Array(raw.chunks.length);
    for (const [i, s] of q.text) q.bm[i] = s;
    q.vs = Float64Array.from(q.vector);
    q.rel = new Set(q.relevant);
    q.terms = [...new Set(textTerms(q.query))];
  }
  return { name, chunks: raw.chunks, queries: raw.queries, docs, docIndex, chunkDoc, tf, len, vecs: raw.chunks.map((c) => Float64Array.from(c.vector)) };
}

export type Method = (q: Q, c: Corpus) => Float64Array; // a score per document

export function rankDocs(c: Corpus, s: Float64Array): number[] {
  const idx = [...s.keys()].filter((i) => s[i]! > -Infinity);
  return idx.sort((a, b) => s[b]! - s[a]! || (c.docs[a]! < c.docs[b]! ? -1 : 1)).slice(0, 10);
}

export function evaluate(c: Corpus, m: Method, splits = ['tuning', 'judged']): Record<string, { r10: number; mrr: number; n: number; rel3: number }> {
  const out: Record<string, { r10: number; mrr: number; n: number; rel3: number }> = {};
  for (const q of c.queries) {
    if (!splits.includes(q.split)) continue;
    const top = rankDocs(c, m(q, c)).map((i) => c.docs[i]!);
    const o = (out[q.split] ??= { r10: 0, mrr: 0, n: 0, rel3: 0 });
    o.n++;
    const f = top.findIndex((d) => q.rel.has(d));
    if (f >= 0) { o.r10++; o.mrr += 1 / (f + 1); }
    o.rel3 += top.slice(0, 3).filter((d) => q.rel.has(d)).length;
  }
  for (const o of Object.values(out)) { o.r10 /= o.n; o.mrr /= o.n; }
  return out;
}

export function fmt(e: ReturnType<typeof evaluate>): string {
  return Object.entries(e).sort().reverse().map(([k, s]) => `${k.slice(0, 4)} ${s.r10.toFixed(3)}/${s.mrr.toFixed(3)}${k === 'judged' ? ` t3 ${s.rel3}` : ''}`).join('  ');
}

/** Chunk scores -> document scores by the best chunk (groupBy '$doc'). -Infinity: not ranked. */
export function maxPerDoc(c: Corpus, chunkScore: Float64Array, include: (i: number) => boolean): Float64Array {
  const d = new Float64Array(c.docs.length).fill(-Infinity);
  for (let i = 0; i < chunkScore.length; i++) if (include(i)) d[c.chunkDoc[i]!] = Math.max(d[c.chunkDoc[i]!]!, chunkScore[i]!);
  return d;
}

/** Chunk indices best first by score (ties by id), the first `depth`. */
export function topChunks(c: Corpus, s: Float64Array, depth: number, positive = false): number[] {
  const idx: number[] = [];
  for (let i = 0; i < s.length; i++) if (!positive || s[i]! > 0) idx.push(i);
  return idx.sort((a, b) => s[b]! - s[a]! || (c.chunks[a]!.id < c.chunks[b]!.id ? -1 : 1)).slice(0, depth);
}

/**
 * BM25 with every term mapped through `key` (a stemmer, a prefix), over chunks (`doc` false)
 * or whole documents; a per-chunk score either way (a document's score on each of its chunks).
 */
export function mappedBm25(c: Corpus, key: (t: string) => string, doc: boolean, k1 = 1.2, b = 0.75) {
  const units = doc ? c.docs.length : c.chunks.length;
  const unitOf = (i: number) => (doc ? c.chunkDoc[i]! : i);
  const ulen = new Float64Array(units);
  const post = new Map<string, Map<number, number>>();
  for (let i = 0; i < c.tf.length; i++) {
    ulen[unitOf(i)] = ulen[unitOf(i)]! + c.len[i]!;
    for (const [t, n] of c.tf[i]!) {
      const k = key(t);
      let l = post.get(k);
      if (!l) post.set(k, (l = new Map()));
      l.set(unitOf(i), (l.get(unitOf(i)) ?? 0) + n);
    }
  }
  const avg = ulen.reduce((a, x) => a + x, 0) / units;
  const cache = new Map<Q, Float64Array>();
  return (q: Q): Float64Array => {
    const hit = cache.get(q);
    if (hit) return hit;
    const s = new Float64Array(units);
    for (const k of new Set(q.terms.map(key))) {
      const l = post.get(k);
      if (!l) continue;
      const idf = Math.log(1 + (units - l.size + 0.5) / (l.size + 0.5));
      for (const [u, n] of l) s[u] = s[u]! + (idf * n * (k1 + 1)) / (n + k1 * (1 - b + (b * ulen[u]!) / avg));
    }
    const out = doc ? Float64Array.from(c.chunkDoc, (d) => s[d]!) : s;
    cache.set(q, out);
    return out;
  };
}
