/**
 * Research only (eval/search/lab/README.md): the opening-section run, prefix BM25, the
 * prefix-set sibling rule (sibling.ts) and a "query tail" signal (prefix BM25 of the words after
 * the query's last " - ", " -- ", ", " or inside its last parentheses: Debian's "libfoo - development
 * files") on the acronym default; weights fitted by coordinate ascent on the tuning split with
 * the worse of the two corpora's ratios to BM25 as objective, judged recall@10 held at 1.00 and
 * top-3 relevant at >= 26. Prints tuning and judged; HELDOUT=1 with W=name=v,... prints that
 * one rule on held-out (the one look).
 */
import { load, mappedBm25, type Q } from './lab.js';
import { metrics, prepare } from './mix.js';
import { pre5, prefixBm25 } from './signals.js';
import { openingRun, siblingRule, withAcronyms } from './sibling.js';

const held = process.env.HELDOUT === '1';
/** The query's tail: after its last " - " / " -- " / ", ", or inside its last parentheses; '' when none. */
export function tail(query: string): string {
  const par = /\(([^()]*)\)\s*\.?\s*$/.exec(query);
  if (par) return par[1]!;
  const m = /\s--?\s|,\s/g;
  let last = -1, len = 0;
  for (const x of query.matchAll(m)) { last = x.index!; len = x[0].length; }
  return last >= 0 ? query.slice(last + len) : '';
}
const NAMES = ['bmA', 'vec', 'docbmA', 'opening', 'p5', 'docp5', 'tailp5', 'tailbm'];
const sets = ['npm', 'debian', 'questions'].map((name) => {
  const c = load(name);
  const tp = prefixBm25(c, true), tb = mappedBm25(c, (t) => t, false);
  const tq = new Map<Q, Q>();
  const tailQ = (q: Q) => { let t = tq.get(q); if (!t) { const s = tail(q.query); tq.set(q, (t = { ...q, terms: s ? [...new Set(q.terms.filter((x) => s.toLowerCase().includes(x)))] : [] })); } return t; };
  const f = [withAcronyms(c, false), (q: Q) => q.vs, withAcronyms(c, true), openingRun(c), prefixBm25(c, false), prefixBm25(c, true), (q: Q) => tp(tailQ(q)), (q: Q) => tb(tailQ(q))];
  const F = NAMES.map((n, k) => ({ name: n, norm: (n === 'vec' ? 'minmax' : n === 'opening' ? 'raw' : 'max') as 'max' | 'minmax' | 'raw', f: f[k]!, cand: ['bmA', 'p5'].includes(n) }));
  const splits = name === 'questions' ? ['judged'] : held ? ['held-out'] : ['tuning'];
  const bm = mappedBm25(c, (t) => t, false);
  const sib = siblingRule(c, 5, 0.4, { set: true, key: pre5 });
  return { name, pre: prepare(c, F, splits), bmPre: prepare(c, [{ name: 'bm', norm: 'max', f: (q: Q) => bm(q) }], splits), sib };
});
const base = sets.map((s) => metrics(s.bmPre, [1]).mrr);
const run = (w: number[], x: number) => sets.map((s) => metrics(s.pre, w, x ? (p, j, sc) => s.sib(p, j, sc, x) : undefined));
const line = (label: string, w: number[], x: number) => { const m = run(w, x); console.log(label.padEnd(40), m.map((r, k) => `${sets[k]!.name.slice(0, 3)} ${r.r10.toFixed(3)}/${r.mrr.toFixed(3)}${k === 2 ? ` t3 ${r.t3}` : ` ${(r.mrr / base[k]!).toFixed(3)}x`}`).join('  '), '|', [...NAMES.map((n, k) => `${n}=${w[k]}`).filter((s) => !s.endsWith('=0')), x ? `sib=${x}` : ''].join(' ')); return m; };
console.log('BM25', sets.map((s, k) => `${s.name} ${base[k]!.toFixed(3)}`).join('  '));
const ACRO = [0.34, 0.15, 0.51, 0, 0, 0, 0, 0];
if (held || process.env.W) {
  line('default (query acronyms)', ACRO, 0);
  const o = Object.fromEntries((process.env.W ?? '').split(',').filter(Boolean).map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
  const rw = NAMES.map((n, k) => o[n] ?? ACRO[k]!);
  line('rule', rw, o.sib ?? 0);
  if (!held) for (let j = 0; j < NAMES.length; j++) for (const d of [-0.05, 0.05]) { const t = rw.slice(); t[j] = Math.max(0, +(t[j]! + d).toFixed(2)); if (t[j] !== rw[j]) line(`  ${NAMES[j]} ${d > 0 ? '+' : ''}${d}`, t, o.sib ?? 0); }
} else {
  line('default (query acronyms)', ACRO, 0);
  for (const t of [0.1, 0.2, 0.3]) line(`+ tail prefix document ${t}`, [0.34, 0.15, 0.51, 0, 0, 0, t, 0], 0), line(`+ tail chunk ${t}`, [0.34, 0.15, 0.51, 0, 0, 0, 0, t], 0);
  const obj = (w: number[], x: number) => { const m = run(w, x); if (m[2]!.r10 < 1 || m[2]!.t3 < 26) return -1; const a = m[0]!.mrr / base[0]!, b = m[1]!.mrr / base[1]!; return Math.min(a, b) + 0.01 * (a + b); };
  let w = ACRO.slice(), x = 0, bo = obj(w, x);
  const full = process.env.FULL === '1';
  const grid = full ? [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8] : [0, 0.05, 0.1, 0.2, 0.3, 0.5];
  for (let round = 0; round < (full ? 3 : 2); round++) {
    for (let j = full ? 0 : 3; j <= NAMES.length; j++) for (const v of grid) {
      const t = w.slice(); let tx = x;
      if (j === NAMES.length) tx = v; else t[j] = v;
      const o = obj(t, tx);
      if (o > bo + 1e-9) { bo = o; w = t; x = tx; }
    }
    line(`ascent ${round}`, w, x);
  }
}
