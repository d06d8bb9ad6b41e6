/**
 * Research only (README.md here): how far a linear combination of seven per-chunk signals can
 * go, weights fitted by coordinate ascent on the tuning split (both corpora, relative to BM25).
 * An upper bound for hand-set fusion weights, not a model to ship. STEMMER as in replay.ts.
 */
const stemmer = process.env.STEMMER ? ((await import(process.env.STEMMER)) as { stemmer: (w: string) => string }).stemmer : (w: string) => w;
import { load, topChunks, mappedBm25, type Corpus, type Q } from './lab.js';
import { tokenize } from '../../../src/embedder/tokenize.js';
import { STOP_WORDS } from '../../../src/text/text-tokens.js';
const porter = (t: string) => (/^[a-z]+$/.test(t) ? stemmer(t) : t);
const NAMES = ['bm25', 'vec', 'docbm25', 'porter', 'docporter', 'pairshare', 'docvec'];
interface Pre { docOf: Int32Array; feats: Float64Array[]; rel: Set<number>; split: string }
function prepare(c: Corpus): Pre[] {
  const dx = mappedBm25(c, (t) => t, true), cp = mappedBm25(c, porter, false), dp = mappedBm25(c, porter, true);
  const held = c.chunks.map((ch) => { const w = tokenize(ch.text).filter((t) => !STOP_WORDS.has(t)); return new Set(w.slice(1).map((x, j) => `${w[j]} ${x}`)); });
  const pc = (q: Q, _c: Corpus, i: number) => { const w = tokenize(q.query).filter((t) => !STOP_WORDS.has(t)); const p = w.slice(1).map((x, j) => `${w[j]} ${x}`); return p.length ? p.filter((x) => held[i]!.has(x)).length / p.length : 0; };
  const out: Pre[] = [];
  for (const q of c.queries) {
    const srcs = [q.bm, q.vs, dx(q), cp(q), dp(q)];
    const cand = new Set<number>();
    for (const s of srcs) for (const i of topChunks(c, s, 200, s !== q.vs)) cand.add(i);
    const ids = [...cand];
    const vv = topChunks(c, q.vs, 200).map((i) => q.vs[i]!); const lo = Math.min(...vv), hi = Math.max(...vv);
    // doc-level vector: best chunk of the doc (max) -> same as vec per doc; use mean of doc's chunks in cand instead
    const docMax = new Map<number, number>();
    const feats = ids.map((i) => {
      const f = new Float64Array(NAMES.length);
      srcs.forEach((s, k) => { if (k === 1) return; let best = 0; for (const j of ids) best = Math.max(best, s[j]!); f[k] = best > 0 ? s[i]! / best : 0; });
      f[1] = hi === lo ? 1 : Math.max(0, (q.vs[i]! - lo) / (hi - lo));
      f[5] = pc(q, c, i);
      return f;
    });
    // docvec: the best normalised vector score among the doc's candidate chunks, shared
    ids.forEach((i, k) => docMax.set(c.chunkDoc[i]!, Math.max(docMax.get(c.chunkDoc[i]!) ?? 0, feats[k]![1]!)));
    ids.forEach((i, k) => { feats[k]![6] = docMax.get(c.chunkDoc[i]!)!; });
    const rel = new Set<number>(); c.docs.forEach((d, k) => { if (q.rel.has(d)) rel.add(k); });
    out.push({ docOf: Int32Array.from(ids, (i) => c.chunkDoc[i]!), feats, rel, split: q.split });
  }
  return out;
}
function mrr(pre: Pre[], w: number[], split: string): number {
  let s = 0, n = 0;
  for (const p of pre) {
    if (p.split !== split) continue; n++;
    const best = new Map<number, number>();
    p.feats.forEach((f, k) => { let x = 0; for (let j = 0; j < w.length; j++) x += w[j]! * f[j]!; const d = p.docOf[k]!; if (x > (best.get(d) ?? -Infinity)) best.set(d, x); });
    const ranked = [...best].sort((a, b) => b[1] - a[1]).slice(0, 10);
    const r = ranked.findIndex(([d]) => p.rel.has(d)); if (r >= 0) s += 1 / (r + 1);
  }
  return s / n;
}
const npm = prepare(load('npm')), deb = prepare(load('debian'));
const obj = (w: number[]) => mrr(npm, w, 'tuning') / 0.921 + mrr(deb, w, 'tuning') / 0.756;
let w = [0.85, 0.15, 0, 0, 0, 0, 0];
console.log('start', mrr(npm, w, 'tuning').toFixed(3), mrr(deb, w, 'tuning').toFixed(3));
let bestObj = obj(w);
for (let round = 0; round < 3; round++) {
  for (let j = 0; j < w.length; j++) {
    for (const v of [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2]) {
      const t = w.slice(); t[j] = v; const o = obj(t);
      if (o > bestObj + 1e-9) { bestObj = o; w = t; }
    }
  }
  console.log('round', round, w.map((x, j) => `${NAMES[j]}=${x}`).join(' '), mrr(npm, w, 'tuning').toFixed(3), mrr(deb, w, 'tuning').toFixed(3));
}
