/**
 * Research only (eval/search/lab/README.md): the rows of README "Search quality" (signals tried
 * after document BM25) that mix.ts does not print: query acronyms and their counts, acronyms
 * indexed from documents, coordination, the longest verbatim run, the vector score over BM25's
 * candidates, RM3 re-ranking, the prefix mixes, and the near-duplicate count. Tuning split and
 * judged questions; HELDOUT=1 prints the two rows README marks H on the held-out split instead.
 */
import { tokenize } from '../../../src/embedder/tokenize.js';
import { load, mappedBm25, type Corpus, type Q } from './lab.js';
import { metrics, prepare, rankOf, type Pre } from './mix.js';
import { acronyms, prefixBm25 } from './signals.js';

type Signal = (q: Q) => Float64Array;
const held = process.env.HELDOUT === '1';

/** BM25 (chunk or document) over the query's terms plus its acronyms. */
function withAcronyms(c: Corpus, doc: boolean, documents = c): Signal {
  const plain = mappedBm25(documents, (t) => t, doc);
  const derived = new Map<Q, Q>();
  return (q) => {
    let d = derived.get(q);
    if (!d) derived.set(q, (d = { ...q, terms: [...new Set([...q.terms, ...acronyms(q.query)])] }));
    return plain(d);
  };
}

/** The same corpus with each chunk also holding the acronyms its own text spells. */
const indexedAcronyms = (c: Corpus): Corpus => ({ ...c, tf: c.tf.map((m, i) => { const n = new Map(m); for (const a of acronyms(c.chunks[i]!.text)) n.set(a, (n.get(a) ?? 0) + 1); return n; }) });

/** The idf share of the query's terms the chunk (or its document) holds. */
function coordination(c: Corpus, doc: boolean): Signal {
  const df = new Map<string, number>();
  c.tf.forEach((m) => { for (const t of m.keys()) df.set(t, (df.get(t) ?? 0) + 1); });
  const n = c.chunks.length;
  const idf = (t: string) => Math.log(1 + (n - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
  const dterms = c.docs.map(() => new Set<string>());
  c.tf.forEach((m, i) => { for (const t of m.keys()) dterms[c.chunkDoc[i]!]!.add(t); });
  return (q) => {
    const qt = q.terms.filter((t) => df.has(t));
    const z = qt.reduce((a, t) => a + idf(t), 0) || 1;
    return Float64Array.from(c.chunks, (_, i) => qt.reduce((a, t) => a + ((doc ? dterms[c.chunkDoc[i]!]!.has(t) : c.tf[i]!.has(t)) ? idf(t) : 0), 0) / z);
  };
}

/** The longest run of the query's words (stop words included) the chunk holds in order, as a share of the query (runs of 2 or more). */
function verbatimRun(c: Corpus): Signal {
  const pos = c.chunks.map((ch) => { const t = tokenize(ch.text); const m = new Map<string, number[]>(); t.forEach((w, p) => { let l = m.get(w); if (!l) m.set(w, (l = [])); l.push(p); }); return { t, m }; });
  return (q) => {
    const qt = tokenize(q.query);
    return Float64Array.from(c.chunks, (_, i) => {
      if (!(q.bm[i]! > 0) || qt.length < 2) return 0;
      const { t, m } = pos[i]!;
      let best = 0;
      for (let a = 0; a < qt.length; a++) for (const p of m.get(qt[a]!) ?? []) { let k = 0; while (a + k < qt.length && t[p + k] === qt[a + k]) k++; best = Math.max(best, k); }
      return best >= 2 ? best / qt.length : 0;
    });
  };
}

/** The vector score min-max over BM25's (floored) candidates only: the embedder re-ranking BM25's top. */
const vectorOverText: Signal = (q) => {
  const s = new Float64Array(q.bm.length);
  let best = 0;
  for (const x of q.bm) best = Math.max(best, x);
  const ids = [...q.bm.keys()].filter((i) => q.bm[i]! > 0 && q.bm[i]! >= 0.1 * best);
  const v = ids.map((i) => q.vs[i]!);
  const lo = Math.min(...v), hi = Math.max(...v);
  for (const i of ids) s[i] = hi > lo ? (q.vs[i]! - lo) / (hi - lo) : 1;
  return s;
};

/** RM3-style re-ranking: a relevance model from the `fb` best documents (weights 1/rank), its `terms` likeliest terms, cross-entropy against each of the 50 best documents (Dirichlet mu), min-max. */
function rm3(c: Corpus, fb: number, terms: number, mu = 1500) {
  const dtf = c.docs.map(() => new Map<string, number>());
  const dlen = new Float64Array(c.docs.length);
  c.tf.forEach((m, i) => { const d = c.chunkDoc[i]!; dlen[d] = dlen[d]! + c.len[i]!; for (const [t, n] of m) dtf[d]!.set(t, (dtf[d]!.get(t) ?? 0) + n); });
  const cf = new Map<string, number>();
  let total = 0;
  for (const m of dtf) for (const [t, n] of m) { cf.set(t, (cf.get(t) ?? 0) + n); total += n; }
  const cache = new WeakMap<number[], Map<number, number>>();
  return (p: Pre, j: number, s: number[]): number => {
    let byDoc = cache.get(s);
    if (!byDoc) {
      const best = new Map<number, number>();
      s.forEach((v, k) => { const d = p.docOf[k]!; if (v > (best.get(d) ?? -Infinity)) best.set(d, v); });
      const ranked = [...best].sort((a, b) => b[1] - a[1]);
      const model = new Map<string, number>();
      ranked.slice(0, fb).forEach(([d], r) => { for (const [t, n] of dtf[d]!) model.set(t, (model.get(t) ?? 0) + n / dlen[d]! / (r + 1)); });
      const top = [...model].sort((a, b) => b[1] - a[1]).slice(0, terms);
      const z = top.reduce((a, x) => a + x[1], 0);
      byDoc = new Map();
      for (const [d] of ranked.slice(0, 50)) byDoc.set(d, top.reduce((a, [t, w]) => a + (w / z) * Math.log(((dtf[d]!.get(t) ?? 0) + (mu * cf.get(t)!) / total) / (dlen[d]! + mu)), 0));
      const vals = [...byDoc.values()];
      const lo = Math.min(...vals), hi = Math.max(...vals);
      for (const [d, v] of byDoc) byDoc.set(d, hi > lo ? (v - lo) / (hi - lo) : 0);
      cache.set(s, byDoc);
    }
    return byDoc.get(p.docOf[j]!) ?? 0;
  };
}

const NAMES = ['bm', 'vec', 'docbm', 'bmA', 'docbmA', 'bmI', 'docbmI', 'coord', 'doccoord', 'run', 'vecT', 'p5', 'docp5'];
const sets = ['npm', 'debian', 'questions'].map((name) => {
  const c = load(name);
  const ia = indexedAcronyms(c);
  const f: Signal[] = [(q) => q.bm, (q) => q.vs, mappedBm25(c, (t) => t, true), withAcronyms(c, false), withAcronyms(c, true), withAcronyms(c, false, ia), withAcronyms(c, true, ia), coordination(c, false), coordination(c, true), verbatimRun(c), vectorOverText, prefixBm25(c, false), prefixBm25(c, true)];
  const F = NAMES.map((n, k) => ({ name: n, norm: (n === 'vec' ? 'minmax' : n === 'run' ? 'raw' : 'max') as 'max' | 'minmax' | 'raw', f: f[k]!, cand: ['bmA', 'bmI', 'p5'].includes(n) }));
  return { name, c, pre: prepare(c, F, name === 'questions' ? ['judged'] : held ? ['held-out'] : ['tuning']), rm3: (fb: number, t: number) => rm3(c, fb, t) };
});
const w = (o: Record<string, number>) => NAMES.map((n) => o[n] ?? 0);
const DEFAULT = { bm: 0.34, vec: 0.15, docbm: 0.51 };
const ACRO = { bmA: 0.34, vec: 0.15, docbmA: 0.51 };
type Bonus = Parameters<typeof metrics>[2];
const show = (label: string, weights: number[], bonus?: (s: (typeof sets)[number]) => Bonus) => console.log(label.padEnd(58), sets.map((s) => { const m = metrics(s.pre, weights, bonus?.(s)); return `${s.name} ${m.r10.toFixed(3)}/${m.mrr.toFixed(3)}${s.name === 'questions' ? ` t3 ${m.t3}` : ''}`; }).join('  '));

show('BM25', w({ bm: 1 }));
show('previous default (document BM25 0.6)', w(DEFAULT));
show('default: query acronyms', w(ACRO));
show('acronyms + prefix chunk 0.5 + prefix document 0.1', w({ ...ACRO, p5: 0.5, docp5: 0.1 }));
if (!held) {
  show('BM25 with acronyms', w({ bmA: 1 }));
  show('acronyms also indexed from documents', w({ bmI: 0.34, vec: 0.15, docbmI: 0.51 }));
  for (const x of [0.05, 0.1, 0.2]) show(`acronyms + coordination ${x} / document ${x}`, w({ ...ACRO, coord: x })), show('', w({ ...ACRO, doccoord: x }));
  for (const x of [0.1, 0.2, 0.3]) show(`acronyms + verbatim run ${x}`, w({ ...ACRO, run: x }));
  for (const x of [0.05, 0.1, 0.15]) show(`acronyms + vector over BM25's candidates ${x}`, w({ ...ACRO, vecT: x }));
  for (const x of [0.1, 0.15, 0.2]) show(`acronyms, vector over BM25's candidates ${x} instead`, w({ ...ACRO, vec: 0, vecT: x }));
  for (const [fb, t, x] of [[3, 20, 0.05], [3, 20, 0.1], [5, 30, 0.1], [10, 30, 0.1], [5, 30, 0.2]] as const) show(`acronyms + RM3 (${fb} documents, ${t} terms) ${x} on the 50 best`, w(ACRO), (s) => { const r = s.rm3(fb, t); return (p, j, sc) => x * r(p, j, sc); });
  for (const p of [0.1, 0.2, 0.3, 0.5]) for (const d of [0, 0.1, 0.2]) show(`acronyms + prefix chunk ${p} + prefix document ${d}`, w({ ...ACRO, p5: p, docp5: d }));
  // Acronyms: how many tuning queries spell one a document holds, and one their own document holds.
  for (const s of sets.slice(0, 2)) {
    const vocab = new Set(s.c.tf.flatMap((m) => [...m.keys()]));
    let queries = 0, own = 0;
    for (const q of s.c.queries.filter((x) => x.split === 'tuning')) {
      const a = acronyms(q.query).filter((x) => vocab.has(x) && !q.terms.includes(x));
      if (!a.length) continue;
      queries++;
      if (s.c.chunks.some((ch, i) => q.rel.has(ch.doc) && a.some((x) => s.c.tf[i]!.has(x)))) own++;
    }
    console.log(s.name, 'tuning queries spelling an acronym some document holds:', queries, '- one their own document holds:', own);
  }
  // Near-duplicates: queries not answered first behind a document whose terms overlap the relevant one's by Jaccard >= 0.4.
  for (const s of sets.slice(0, 2)) {
    const dterms = s.c.docs.map(() => new Set<string>());
    s.c.tf.forEach((m, i) => { for (const t of m.keys()) dterms[s.c.chunkDoc[i]!]!.add(t); });
    const jaccard = (a: number, b: number) => { let n = 0; for (const t of dterms[a]!) if (dterms[b]!.has(t)) n++; return n / (dterms[a]!.size + dterms[b]!.size - n); };
    let notFirst = 0, sibling = 0, missed = 0, siblingsStay = 0;
    for (const p of s.pre) {
      const r = rankOf(p, w(ACRO));
      const f = r.findIndex((d) => p.rel.has(d));
      if (f === 0) { siblingsStay++; continue; }
      notFirst++;
      if (f < 0) { missed++; continue; }
      const rel = [...p.rel][0]!;
      const near = r.slice(0, f).filter((d) => jaccard(d, rel) >= 0.4).length;
      if (near) sibling++;
      siblingsStay += 1 / (near + 1); // every other document above it resolved, its siblings left
    }
    console.log(s.name, 'not first:', notFirst, '- behind a near-identical sibling:', sibling, '- missed:', missed, '- MRR@10 if every other confusion were resolved:', (siblingsStay / s.pre.length).toFixed(3));
  }
}
