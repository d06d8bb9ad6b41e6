/**
 * Research only (eval/search/lab/README.md): per-chunk signals not in replay.ts (query
 * likelihood with Dirichlet smoothing, term proximity, first-paragraph and best-paragraph
 * fields, prefix BM25, RM3 re-ranking), computed once per query over the fusion's candidates
 * so weights can be searched fast. Tuning split and judged questions only.
 */
import { tokenize } from '../../../src/embedder/tokenize.js';
import { STOP_WORDS, textTerms } from '../../../src/text/text-tokens.js';
import { load, mappedBm25, topChunks, type Corpus, type Q } from './lab.js';

export const words = (text: string) => tokenize(text).filter((t) => !STOP_WORDS.has(t));
const pre5 = (t: string) => (/[_\-.:/]/.test(t) ? t : [...t].slice(0, 5).join(''));

/** Query likelihood, Dirichlet smoothing (Zhai & Lafferty 2001), rank-equivalent form, per chunk or per document. */
export function dirichlet(c: Corpus, mu: number, doc: boolean, key: (t: string) => string = (t) => t) {
  const units = doc ? c.docs.length : c.chunks.length;
  const unitOf = (i: number) => (doc ? c.chunkDoc[i]! : i);
  const ulen = new Float64Array(units);
  const post = new Map<string, Map<number, number>>();
  const cf = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < c.tf.length; i++) {
    ulen[unitOf(i)] = ulen[unitOf(i)]! + c.len[i]!;
    total += c.len[i]!;
    for (const [t0, n] of c.tf[i]!) {
      const t = key(t0);
      cf.set(t, (cf.get(t) ?? 0) + n);
      let l = post.get(t);
      if (!l) post.set(t, (l = new Map()));
      l.set(unitOf(i), (l.get(unitOf(i)) ?? 0) + n);
    }
  }
  return (q: Q): Float64Array => {
    const s = new Float64Array(units);
    const terms = [...new Set(q.terms.map(key))].filter((t) => cf.has(t));
    for (let u = 0; u < units; u++) s[u] = terms.length * Math.log(mu / (ulen[u]! + mu));
    for (const t of terms) {
      const pc = cf.get(t)! / total;
      for (const [u, n] of post.get(t)!) s[u] = s[u]! + Math.log(1 + n / (mu * pc));
    }
    return doc ? Float64Array.from(c.chunkDoc, (d) => s[d]!) : s;
  };
}

/** Positions of each chunk's plain words. */
function positions(c: Corpus): Map<string, number[]>[] {
  return c.chunks.map((ch) => {
    const m = new Map<string, number[]>();
    words(ch.text).forEach((w, p) => { let l = m.get(w); if (!l) m.set(w, (l = [])); l.push(p); });
    return m;
  });
}

/**
 * BM25TP-style pair proximity (Rasolofo & Savoy 2003): every pair of distinct query terms
 * within `win` words adds 1/d^2, saturated like BM25 and weighted by the pair's smaller idf.
 */
export function proximity(c: Corpus, win: number, k1 = 1.2, b = 0.75) {
  const pos = positions(c);
  const df = new Map<string, number>();
  for (const p of pos) for (const t of p.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  const n = c.chunks.length;
  const idf = (t: string) => Math.log(1 + (n - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
  const avg = c.len.reduce((a, x) => a + x, 0) / n;
  return (q: Q): Float64Array => {
    const qt = [...new Set(words(q.query))];
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = pos[i]!;
      const here = qt.filter((t) => p.has(t));
      if (here.length < 2) continue;
      const K = k1 * (1 - b + (b * c.len[i]!) / avg);
      for (let a = 0; a < here.length; a++) for (let z = a + 1; z < here.length; z++) {
        let acc = 0;
        for (const x of p.get(here[a]!)!) for (const y of p.get(here[z]!)!) { const d = Math.abs(x - y); if (d > 0 && d <= win) acc += 1 / (d * d); }
        if (acc > 0) s[i] = s[i]! + (Math.min(idf(here[a]!), idf(here[z]!)) * acc * (k1 + 1)) / (acc + K);
      }
    }
    return s;
  };
}

/** Tao & Zhai 2007 MinDist: log(alpha + exp(-delta)), delta the least distance between two distinct matched query terms. */
export function minDist(c: Corpus, alpha = 0.3) {
  const pos = positions(c);
  return (q: Q): Float64Array => {
    const qt = [...new Set(words(q.query))];
    const s = new Float64Array(c.chunks.length).fill(Math.log(alpha));
    pos.forEach((p, i) => {
      const here = qt.filter((t) => p.has(t));
      if (here.length < 2) return;
      let best = Infinity;
      for (let a = 0; a < here.length; a++) for (let z = a + 1; z < here.length; z++) for (const x of p.get(here[a]!)!) for (const y of p.get(here[z]!)!) best = Math.min(best, Math.abs(x - y));
      s[i] = Math.log(alpha + Math.exp(-best));
    });
    return s;
  };
}

/** BM25 over a field cut from each document (its first paragraph, or each paragraph with the best kept). */
export function fieldBm25(c: Corpus, field: 'first' | 'best', k1 = 1.2, b = 0.75) {
  const units: { doc: number; tf: Map<string, number>; len: number }[] = [];
  const firstChunk = new Map<number, number>();
  c.chunks.forEach((ch, i) => { if (ch.index === 0) firstChunk.set(c.chunkDoc[i]!, i); });
  const para = (text: string) => text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => /\p{L}/u.test(p) && !/^#+\s/.test(p) && !/^\s*[![<]/.test(p));
  const add = (doc: number, text: string) => { const t = textTerms(text); const m = new Map<string, number>(); for (const w of t) m.set(w, (m.get(w) ?? 0) + 1); units.push({ doc, tf: m, len: t.length }); };
  if (field === 'first') for (const [d, i] of firstChunk) add(d, para(c.chunks[i]!.text)[0] ?? '');
  else c.chunks.forEach((ch, i) => { for (const p of para(ch.text)) add(c.chunkDoc[i]!, p); });
  const df = new Map<string, number>();
  for (const u of units) for (const t of u.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  const avg = units.reduce((a, u) => a + u.len, 0) / units.length || 1;
  return (q: Q): Float64Array => {
    const byDoc = new Float64Array(c.docs.length);
    for (const u of units) {
      let s = 0;
      for (const t of q.terms) { const f = u.tf.get(t); if (!f) continue; const n = df.get(t)!; s += (Math.log(1 + (units.length - n + 0.5) / (n + 0.5)) * f * (k1 + 1)) / (f + k1 * (1 - b + (b * u.len) / avg)); }
      byDoc[u.doc] = Math.max(byDoc[u.doc]!, s);
    }
    return Float64Array.from(c.chunkDoc, (d) => byDoc[d]!);
  };
}

export const prefixBm25 = (c: Corpus, doc: boolean) => mappedBm25(c, pre5, doc);
export const prefixQl = (c: Corpus, mu: number, doc: boolean) => dirichlet(c, mu, doc, pre5);

/** Adjacent pairs (optionally of prefixes) of the query the chunk holds adjacent, as a share. */
export function pairShare(c: Corpus, key: (t: string) => string = (t) => t) {
  const adj = (w: string[]) => w.slice(1).map((x, j) => `${key(w[j]!)} ${key(x)}`);
  const held = c.chunks.map((ch) => new Set(adj(words(ch.text))));
  return (q: Q): Float64Array => {
    const p = adj(words(q.query));
    return Float64Array.from(held, (h) => (p.length ? p.filter((x) => h.has(x)).length / p.length : 0));
  };
}
/**
 * The acronyms a query spells with capitals: for each run of capitalised words (lower-case stop
 * words inside skipped), the capital letters of each word, lower-cased, at least 3 letters:
 * "GNU Bourne Again SHell" -> "bash", "gnuba", ...; "International Components for Unicode" -> "icu".
 */
export function acronyms(query: string): string[] {
  const ws = query.normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? [];
  const out = new Set<string>();
  for (let i = 0; i < ws.length; i++) {
    let a = '', n = 0;
    for (let j = i; j < ws.length && j < i + 6; j++) {
      const w = ws[j]!;
      if (!/^\p{Lu}/u.test(w)) { if (n > 0 && STOP_WORDS.has(w)) continue; break; }
      a += w.match(/\p{Lu}+/gu)!.join(''); n++;
      if (n >= 2 && a.length >= 3) out.add(a.toLowerCase());
    }
  }
  return [...out];
}
/**
 * BM25 over a chunk's markdown heading lines ("# Int8Array", or a line over "===" / "---"),
 * with the chunk collection's idf and the heading's own length against a fixed average: a
 * field score a query can compute from its candidates' text alone. `first`: the document's first
 * heading only, on every chunk of the document.
 */
export function headingBm25(c: Corpus, first: boolean, k1 = 1.2, b = 0.75, avgLen = 4) {
  const df = new Map<string, number>();
  c.tf.forEach((m) => { for (const t of m.keys()) df.set(t, (df.get(t) ?? 0) + 1); });
  const n = c.chunks.length;
  const heads = c.chunks.map((ch) => {
    const lines = ch.text.split('\n');
    const h: string[] = [];
    lines.forEach((l, i) => { if (/^\s{0,3}#{1,6}\s+\S/.test(l)) h.push(l.replace(/^\s*#+\s+/, '')); else if (i + 1 < lines.length && /^\s*(=+|-+)\s*$/.test(lines[i + 1]!) && /\p{L}/u.test(l)) h.push(l); });
    return h.map((x) => { const t = textTerms(x); const m = new Map<string, number>(); for (const w of t) m.set(w, (m.get(w) ?? 0) + 1); return { m, len: t.length }; });
  });
  const firstOf = new Map<number, { m: Map<string, number>; len: number }>();
  if (first) [...c.chunks.keys()].sort((a, z) => c.chunks[a]!.index - c.chunks[z]!.index).forEach((i) => { const d = c.chunkDoc[i]!; if (!firstOf.has(d) && heads[i]!.length) firstOf.set(d, heads[i]![0]!); });
  const score = (q: Q, h: { m: Map<string, number>; len: number }) => { let s = 0; for (const t of q.terms) { const f = h.m.get(t); if (!f) continue; const d = df.get(t) ?? 1; s += (Math.log(1 + (n - d + 0.5) / (d + 0.5)) * f * (k1 + 1)) / (f + k1 * (1 - b + (b * h.len) / avgLen)); } return s; };
  return (q: Q): Float64Array => Float64Array.from(c.chunks, (_, i) => {
    if (first) { const h = firstOf.get(c.chunkDoc[i]!); return h ? score(q, h) : 0; }
    let best = 0; for (const h of heads[i]!) best = Math.max(best, score(q, h)); return best;
  });
}
export { pre5, load, topChunks };
