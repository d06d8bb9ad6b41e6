/**
 * Research only (eval/search/lab/README.md): signals that tell near-identical sibling documents
 * apart, added to the acronym default (and to the opening-section run of opening.ts):
 *
 * - "distinctive text" BM25: each document's words kept only where they are covered by a word
 *   n-gram shingle (stop words out) that no other document holds, or (paragraph mode) only its
 *   paragraphs no other document holds; BM25 of the query over what is kept, per document
 *   (and per chunk).
 * - a pairwise sibling rule over the fused ranking's top K documents: for two documents whose
 *   term sets overlap by Jaccard >= J, each gets the BM25-weighted count of query terms it holds
 *   more often than the other (multiset difference) minus the other's, as a share of the query's
 *   idf, times a weight.
 *
 * Tuning split and judged questions; HELDOUT=1 prints the held-out split (look once, at the end).
 */
import { tokenize } from '../../../src/embedder/tokenize.js';
import { STOP_WORDS } from '../../../src/text/text-tokens.js';
import { load, mappedBm25, type Corpus, type Q } from './lab.js';
import { metrics, prepare, type Pre } from './mix.js';
import { acronyms, prefixBm25 } from './signals.js';

type Signal = (q: Q) => Float64Array;
const withAcro = (q: Q) => [...new Set([...q.terms, ...acronyms(q.query)])];

export function withAcronyms(c: Corpus, doc: boolean): Signal {
  const plain = mappedBm25(c, (t) => t, doc);
  const derived = new Map<Q, Q>();
  return (q) => {
    let d = derived.get(q);
    if (!d) derived.set(q, (d = { ...q, terms: withAcro(q) }));
    return plain(d);
  };
}

/** Chunks of each document in order. */
const chunksOf = (c: Corpus) => {
  const byDoc = c.docs.map(() => [] as number[]);
  c.chunks.forEach((_, i) => byDoc[c.chunkDoc[i]!]!.push(i));
  for (const l of byDoc) l.sort((a, b) => c.chunks[a]!.index - c.chunks[b]!.index);
  return byDoc;
};

const content = (text: string) => tokenize(text).filter((t) => !STOP_WORDS.has(t));

/**
 * The corpus with each chunk's term counts cut to its distinctive words: positions covered by an
 * n-gram (of content words) that occurs in this document only. `keepShort`: a chunk shorter
 * than n keeps its words when its whole sequence is unique.
 */
export function distinctShingles(c: Corpus, n: number, maxDf = 1): Corpus {
  const seqs = c.chunks.map((ch) => content(ch.text));
  const df = new Map<string, number>();
  const byDoc = chunksOf(c);
  byDoc.forEach((ids) => {
    const mine = new Set<string>();
    for (const i of ids) { const s = seqs[i]!; for (let p = 0; p + n <= s.length; p++) mine.add(s.slice(p, p + n).join(' ')); }
    for (const g of mine) df.set(g, (df.get(g) ?? 0) + 1);
  });
  const tf: Map<string, number>[] = [];
  const len: number[] = [];
  seqs.forEach((s) => {
    const keep = new Uint8Array(s.length);
    for (let p = 0; p + n <= s.length; p++) if (df.get(s.slice(p, p + n).join(' '))! <= maxDf) for (let k = p; k < p + n; k++) keep[k] = 1;
    const m = new Map<string, number>();
    let l = 0;
    s.forEach((w, k) => { if (keep[k]) { m.set(w, (m.get(w) ?? 0) + 1); l++; } });
    tf.push(m); len.push(l);
  });
  return { ...c, tf, len };
}

/** The same with whole paragraphs (blank-line separated, whitespace and case folded) that 2+ documents hold taken out. */
export function distinctParagraphs(c: Corpus): Corpus {
  const norm = (p: string) => content(p).join(' ');
  const paras = c.chunks.map((ch) => ch.text.split(/\n\s*\n/).map(norm).filter(Boolean));
  const df = new Map<string, number>();
  chunksOf(c).forEach((ids) => { const mine = new Set(ids.flatMap((i) => paras[i]!)); for (const p of mine) df.set(p, (df.get(p) ?? 0) + 1); });
  const tf: Map<string, number>[] = [];
  const len: number[] = [];
  paras.forEach((ps, i) => {
    const m = new Map<string, number>();
    let l = 0;
    // the chunk's first and last paragraph may be cut by the chunker: judge them by containment too
    for (const p of ps) if (df.get(p)! <= 1) for (const w of p.split(' ')) { m.set(w, (m.get(w) ?? 0) + 1); l++; }
    tf.push(m); len.push(l);
    void i;
  });
  return { ...c, tf, len };
}

/** BM25 over a derived corpus, per document (on each of its chunks) or per chunk, query acronyms included. */
export function derivedBm25(d: Corpus, doc: boolean, k1 = 1.2, b = 0.75): Signal {
  const f = mappedBm25(d, (t) => t, doc, k1, b);
  const derived = new Map<Q, Q>();
  return (q) => { let x = derived.get(q); if (!x) derived.set(q, (x = { ...q, terms: withAcro(q) })); return f(x); };
}

/** Document term counts (chunk overlaps de-duplicated by taking the chunks' text as is). */
function docTf(c: Corpus) {
  const dtf = c.docs.map(() => new Map<string, number>());
  c.tf.forEach((m, i) => { const d = dtf[c.chunkDoc[i]!]!; for (const [t, n] of m) d.set(t, (d.get(t) ?? 0) + n); });
  return dtf;
}

/**
 * Pairwise sibling rule as a bonus over a fused ranking: among the top K documents, pairs with
 * term Jaccard >= J; each document gets w x (its query-term surplus over the other - the other's
 * over it) / the query's idf mass, summed (mode 'sum') or the largest in absolute value ('max').
 * `set`: term presence instead of counts (a term in A not in B).
 */
export function siblingRule(c: Corpus, K: number, J: number, opts: { set?: boolean; mode?: 'sum' | 'max'; sat?: boolean; key?: (t: string) => string } = {}) {
  const key = opts.key;
  const dtf0 = docTf(c);
  const dtf = key ? dtf0.map((m) => { const o = new Map<string, number>(); for (const [t, n] of m) o.set(key(t), (o.get(key(t)) ?? 0) + n); return o; }) : dtf0;
  const jtf = dtf0;
  const dfd = new Map<string, number>();
  for (const m of dtf) for (const t of m.keys()) dfd.set(t, (dfd.get(t) ?? 0) + 1);
  const N = c.docs.length;
  const idf = (t: string) => { const n = dfd.get(t) ?? 0; return Math.log(1 + (N - n + 0.5) / (n + 0.5)); };
  const jc = new Map<number, number>();
  const jaccard = (a: number, b: number) => {
    const k = a < b ? a * N + b : b * N + a;
    let v = jc.get(k);
    if (v === undefined) { let n = 0; for (const t of jtf[a]!.keys()) if (jtf[b]!.has(t)) n++; v = n / (jtf[a]!.size + jtf[b]!.size - n); jc.set(k, v); }
    return v;
  };
  const terms = new Map<Q, string[]>();
  const cache = new WeakMap<number[], Map<number, number>>();
  const surplus = (qt: string[], a: number, b: number) => {
    let s = 0;
    for (const t of qt) {
      const x = dtf[a]!.get(t) ?? 0, y = dtf[b]!.get(t) ?? 0;
      const d = opts.set ? (x > 0 && y === 0 ? 1 : 0) : Math.max(0, x - y);
      if (d > 0) s += idf(t) * (opts.sat ? d / (d + 1) : Math.min(1, d));
    }
    return s;
  };
  return (p: Pre, j: number, s: number[], w: number): number => {
    let byDoc = cache.get(s);
    if (!byDoc) {
      let qt = terms.get(p.q);
      if (!qt) terms.set(p.q, (qt = [...new Set(withAcro(p.q).map((t) => (key ? key(t) : t)))].filter((t) => dfd.has(t))));
      const z = qt.reduce((a, t) => a + idf(t), 0) || 1;
      const best = new Map<number, number>();
      s.forEach((v, k) => { const d = p.docOf[k]!; if (v > (best.get(d) ?? -Infinity)) best.set(d, v); });
      const top = [...best].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, K).map(([d]) => d);
      byDoc = new Map();
      for (let x = 0; x < top.length; x++) for (let y = x + 1; y < top.length; y++) {
        const a = top[x]!, b = top[y]!;
        if (jaccard(a, b) < J) continue;
        const v = (surplus(qt, a, b) - surplus(qt, b, a)) / z;
        for (const [d, u] of [[a, v], [b, -v]] as const) {
          const o = byDoc.get(d) ?? 0;
          byDoc.set(d, opts.mode === 'max' ? (Math.abs(u) > Math.abs(o) ? u : o) : o + u);
        }
      }
      cache.set(s, byDoc);
    }
    return w * (byDoc.get(p.docOf[j]!) ?? 0);
  };
}

/** opening.ts's signal: the longest run of the query's words in the document's opening section, as a share of the query. */
export function openingRun(c: Corpus, CHARS = 1500): Signal {
  const tokens = chunksOf(c).map((ids) => {
    const full = ids.map((i) => c.chunks[i]!.text).join('\n');
    const m = /^\s{0,3}#{1,6}\s+\S.*$/m.exec(full);
    const opening = m ? full.slice(m.index, m.index + CHARS) : full.slice(0, CHARS);
    return tokenize(opening.replace(/\]\[[^\]]*\]|\]\([^)]*\)/g, ' ').replace(/<[^>]*>/g, ' '));
  });
  const cache = new Map<Q, Float64Array>();
  return (q) => {
    const hit = cache.get(q);
    if (hit) return hit;
    const qt = tokenize(q.query);
    const byD = tokens.map((t) => {
      let best = 0;
      for (let a = 0; a < qt.length; a++) for (let p = 0; p < t.length; p++) { if (t[p] !== qt[a]) continue; let k = 0; while (a + k < qt.length && t[p + k] === qt[a + k]) k++; best = Math.max(best, k); }
      return qt.length >= 2 && best >= 2 ? best / qt.length : 0;
    });
    const out = Float64Array.from(c.chunkDoc, (d) => byD[d]!);
    cache.set(q, out);
    return out;
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const held = process.env.HELDOUT === '1';
  const NAMES = ['bmA', 'vec', 'docbmA', 'opening', 'd5doc', 'd5chunk', 'd4doc', 'd3doc', 'd3chunk', 'paradoc', 'parachunk', 'd5docB', 'p5', 'docp5'];
  const sets = ['npm', 'debian', 'questions'].map((name) => {
    const c = load(name);
    const d5 = distinctShingles(c, 5), d4 = distinctShingles(c, 4), d3 = distinctShingles(c, 3), pp = distinctParagraphs(c);
    const f: Signal[] = [withAcronyms(c, false), (q) => q.vs, withAcronyms(c, true), openingRun(c), derivedBm25(d5, true), derivedBm25(d5, false), derivedBm25(d4, true), derivedBm25(d3, true), derivedBm25(d3, false), derivedBm25(pp, true), derivedBm25(pp, false), derivedBm25(d5, true, 1.2, 0.3), prefixBm25(c, false), prefixBm25(c, true)];
    const F = NAMES.map((n, k) => ({ name: n, norm: (n === 'vec' ? 'minmax' : n === 'opening' ? 'raw' : 'max') as 'max' | 'minmax' | 'raw', f: f[k]!, cand: ['bmA', 'p5'].includes(n) }));
    const splits = name === 'questions' ? ['judged'] : held ? ['held-out'] : ['tuning'];
    const bm = mappedBm25(c, (t) => t, false);
    return { name, c, pre: prepare(c, F, splits), bmPre: prepare(c, [{ name: 'bm', norm: 'max', f: (q: Q) => bm(q) }], splits), sib: (K: number, J: number, o?: Parameters<typeof siblingRule>[3]) => siblingRule(c, K, J, o) };
  });
  const w = (o: Record<string, number>) => NAMES.map((n) => o[n] ?? 0);
  const ACRO = { bmA: 0.34, vec: 0.15, docbmA: 0.51 };
  const base = sets.map((s) => metrics(s.bmPre, [1]).mrr);
  type Bonus = Parameters<typeof metrics>[2];
  const show = (label: string, weights: number[], bonus?: (s: (typeof sets)[number]) => Bonus) => console.log(label.padEnd(64), sets.map((s, k) => { const m = metrics(s.pre, weights, bonus?.(s)); return `${s.name.slice(0, 3)} ${m.r10.toFixed(3)}/${m.mrr.toFixed(3)}${s.name === 'questions' ? ` t3 ${m.t3}` : ` ${(m.mrr / base[k]!).toFixed(3)}x`}`; }).join('  '));
  console.log('BM25', sets.map((s, k) => `${s.name} ${base[k]!.toFixed(3)}`).join('  '));
  show('default (query acronyms)', w(ACRO));
  if (process.env.PART !== '2') {
    for (const o of [0.3]) show(`+ opening ${o}`, w({ ...ACRO, opening: o }));
    for (const f of ['d5doc', 'd5chunk', 'd4doc', 'd3doc', 'd3chunk', 'paradoc', 'parachunk', 'd5docB']) for (const x of [0.1, 0.2, 0.3, 0.5]) show(`+ ${f} ${x}`, w({ ...ACRO, [f]: x }));
  }
  if (process.env.PART !== '1') {
    for (const [K, J] of [[5, 0.4], [10, 0.4], [10, 0.3], [10, 0.5], [5, 0.6]] as const) for (const o of [{}, { set: true }, { mode: 'max' as const }, { sat: true }]) for (const x of [0.05, 0.1, 0.2, 0.4]) show(`+ sibling K${K} J${J} ${JSON.stringify(o)} ${x}`, w(ACRO), (s) => { const r = s.sib(K, J, o); return (p, j, sc) => r(p, j, sc, x); });
  }
}
