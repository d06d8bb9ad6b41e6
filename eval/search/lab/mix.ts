/**
 * Research only (eval/search/lab/README.md): the signals of signals.ts and the shipped ones as
 * normalised features over each query's fusion candidates, a linear mix scored per document
 * (best chunk), and coordinate ascent of the weights on the tuning split. Prints tuning and
 * judged figures; HELDOUT=1 prints the held-out split too (look once, at the end).
 */
import { acronyms, dirichlet, headingBm25, fieldBm25, load, minDist, pairShare, pre5, prefixBm25, prefixQl, proximity, topChunks } from './signals.js';
import { mappedBm25, type Corpus, type Q } from './lab.js';

type Norm = 'max' | 'minmax' | 'raw';
interface Feature { name: string; norm: Norm; f: (q: Q) => Float64Array; cand?: boolean }
export interface Pre { q: Q; ids: number[]; docOf: Int32Array; x: Float64Array[]; rel: Set<number> }

function features(c: Corpus): Feature[] {
  const F: Feature[] = [
    { name: 'bm', norm: 'max', f: (q) => q.bm },
    { name: 'vec', norm: 'minmax', f: (q) => q.vs },
    { name: 'docbm', norm: 'max', f: mappedBm25(c, (t) => t, true) },
    { name: 'p5', norm: 'max', f: prefixBm25(c, false), cand: true },
    { name: 'docp5', norm: 'max', f: prefixBm25(c, true) },
    { name: 'ql', norm: 'minmax', f: dirichlet(c, 300, false) },
    { name: 'docql', norm: 'minmax', f: dirichlet(c, 1500, true) },
    { name: 'qlp5', norm: 'minmax', f: prefixQl(c, 300, false) },
    { name: 'tp5', norm: 'max', f: proximity(c, 5) },
    { name: 'mind', norm: 'minmax', f: minDist(c) },
    { name: 'pair', norm: 'max', f: pairShare(c) },
    { name: 'pairp5', norm: 'max', f: pairShare(c, pre5) },
    { name: 'first', norm: 'max', f: fieldBm25(c, 'first') },
    { name: 'bestpara', norm: 'max', f: fieldBm25(c, 'best') },
    { name: 'head', norm: 'max', f: headingBm25(c, false) },
    { name: 'title', norm: 'max', f: headingBm25(c, true) },
    { name: 'bmA', norm: 'max', f: withAcronyms(c, false), cand: true },
    { name: 'docbmA', norm: 'max', f: withAcronyms(c, true) },
  ];
  return F.filter((f) => !process.env.FEATS || ['bm', 'vec', 'docbm', ...process.env.FEATS.split(',')].includes(f.name));
}

/** BM25 of the query's terms plus its capital-letter acronyms (signals.ts). */
function withAcronyms(c: Corpus, doc: boolean) {
  const plain = mappedBm25(c, (t) => t, doc);
  const derived = new Map<Q, Q>();
  return (q: Q): Float64Array => {
    let d = derived.get(q);
    if (!d) derived.set(q, (d = { ...q, terms: acronyms(q.query).filter((a) => !q.terms.includes(a)) }));
    const base = doc ? plain(q) : q.bm;
    if (!d.terms.length) return base;
    const extra = plain(d);
    return base.map((x, i) => x + extra[i]!);
  };
}

export function prepare(c: Corpus, F: Feature[], splits: string[]): Pre[] {
  const out: Pre[] = [];
  for (const q of c.queries) {
    if (!splits.includes(q.split)) continue;
    const byV = topChunks(c, q.vs, 200);
    const byT0 = topChunks(c, q.bm, 200, true);
    const best = byT0.length ? q.bm[byT0[0]!]! : 0;
    const byT = new Set(byT0.filter((i) => q.bm[i]! >= 0.1 * best));
    const inV = new Set(byV);
    const raw = F.map((f) => f.f(q));
    const cand = new Set([...byV, ...byT]);
    F.forEach((f, k) => { if (f.cand) for (const i of topChunks(c, raw[k]!, 200, true).filter((i) => raw[k]![i]! >= 0.1 * raw[k]![topChunks(c, raw[k]!, 1)[0]!]!)) cand.add(i); });
    const ids = [...cand];
    const x = ids.map(() => new Float64Array(F.length));
    F.forEach((f, k) => {
      const src = k === 1 ? byV : ids;
      const vals = src.map((i) => raw[k]![i]!);
      const lo = Math.min(...vals), hi = Math.max(...vals);
      ids.forEach((i, j) => {
        const v = raw[k]![i]!;
        if (k === 0 && !byT.has(i)) return;
        if (k === 1 && !inV.has(i)) return;
        x[j]![k] = f.norm === 'raw' ? v : f.norm === 'max' ? (hi > 0 ? Math.max(0, v) / hi : 0) : hi > lo ? (v - lo) / (hi - lo) : 0;
      });
    });
    const rel = new Set<number>(); c.docs.forEach((d, k) => { if (q.rel.has(d)) rel.add(k); });
    out.push({ q, ids, docOf: Int32Array.from(ids, (i) => c.chunkDoc[i]!), x, rel });
  }
  return out;
}

export function rankOf(p: Pre, w: number[], bonus?: (p: Pre, j: number, s: number[]) => number): number[] {
  const s = p.x.map((f) => { let v = 0; for (let k = 0; k < w.length; k++) v += w[k]! * f[k]!; return v; });
  if (bonus) { const adj = s.map((_, j) => bonus(p, j, s)); adj.forEach((a, j) => { s[j] = s[j]! + a; }); }
  const best = new Map<number, number>();
  s.forEach((v, j) => { const d = p.docOf[j]!; if (v > (best.get(d) ?? -Infinity)) best.set(d, v); });
  return [...best].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 10).map(([d]) => d);
}

export function metrics(pre: Pre[], w: number[], bonus?: Parameters<typeof rankOf>[2]) {
  let mrr = 0, r10 = 0, t3 = 0;
  for (const p of pre) {
    const r = rankOf(p, w, bonus);
    const f = r.findIndex((d) => p.rel.has(d));
    if (f >= 0) { r10++; mrr += 1 / (f + 1); }
    t3 += r.slice(0, 3).filter((d) => p.rel.has(d)).length;
  }
  return { mrr: mrr / pre.length, r10: r10 / pre.length, t3 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const held = process.env.HELDOUT === '1';
  const sets = ['npm', 'debian', 'questions'].map((name) => {
    const c = load(name);
    const F = features(c);
    return { name, F, tune: prepare(c, F, name === 'questions' ? ['judged'] : ['tuning']), held: held && name !== 'questions' ? prepare(c, F, ['held-out']) : [] };
  });
  const F = sets[0]!.F;
  const base = F.map((f) => ({ bm: 0.34, vec: 0.15, docbm: 0.51 })[f.name] ?? 0);
  const bm = F.map((f) => (f.name === 'bm' ? 1 : 0));
  const show = (label: string, w: number[]) => console.log(label.padEnd(28), sets.map((s) => { const m = metrics(s.tune, w); const h = s.held.length ? metrics(s.held, w) : null; return `${s.name} ${m.r10.toFixed(3)}/${m.mrr.toFixed(3)}${s.name === 'questions' ? ` t3 ${m.t3}` : ''}${h ? ` H ${h.r10.toFixed(3)}/${h.mrr.toFixed(3)}` : ''}`; }).join('  '));
  show('BM25', bm);
  show('default', base);
  const [nb, db] = [metrics(sets[0]!.tune, bm).mrr, metrics(sets[1]!.tune, bm).mrr];
  // objective: the worse of the two ratios to BM25 (both must reach 1.05), judged recall kept
  const obj = (w: number[]) => { const a = metrics(sets[0]!.tune, w).mrr / nb, b = metrics(sets[1]!.tune, w).mrr / db; const j = metrics(sets[2]!.tune, w); return Math.min(a, b) + 0.1 * (a + b) - (j.r10 < 1 ? 1 : 0); };
  for (const f of F.slice(3)) { const w = base.slice(); w[F.indexOf(f)] = 0.3; show(`default + ${f.name} 0.3`, w); }
  const idx = (n: string) => F.findIndex((f) => f.name === n);
  if (idx('bmA') >= 0) {
    const w = base.slice(); w[idx('bm')] = 0; w[idx('docbm')] = 0; w[idx('bmA')] = 0.34; w[idx('docbmA')] = 0.51; show('default, acronyms', w);
    const v = bm.map(() => 0); v[idx('bmA')] = 1; show('BM25 with acronyms', v);
  }
  if (process.env.ACRO) { base[idx('bm')] = 0; base[idx('docbm')] = 0; base[idx('bmA')] = 0.34; base[idx('docbmA')] = 0.51; }
  let w = base.slice(), bo = obj(w);
  for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
    for (let j = 0; j < w.length; j++) for (const v of [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2]) { const t = w.slice(); t[j] = v; const o = obj(t); if (o > bo + 1e-9) { bo = o; w = t; } }
    show(`ascent ${round}`, w);
    console.log('   ', w.map((x, j) => `${F[j]!.name}=${x}`).filter((s) => !s.endsWith('=0')).join(' '));
  }
}
