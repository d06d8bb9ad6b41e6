/**
 * Research only (eval/search/lab/README.md): the pairwise sibling rule of sibling.ts over
 * 5-letter prefixes, alone and with the opening-section run and prefix BM25. Tuning split and
 * judged questions; HELDOUT=1 prints the held-out split (look once, at the end).
 */
import { load, mappedBm25, type Q } from './lab.js';
import { metrics, prepare } from './mix.js';
import { pre5, prefixBm25 } from './signals.js';
import { openingRun, siblingRule, withAcronyms } from './sibling.js';

const held = process.env.HELDOUT === '1';
const NAMES = ['bmA', 'vec', 'docbmA', 'opening', 'p5', 'docp5'];
const sets = ['npm', 'debian', 'questions'].map((name) => {
  const c = load(name);
  const f = [withAcronyms(c, false), (q: Q) => q.vs, withAcronyms(c, true), openingRun(c), prefixBm25(c, false), prefixBm25(c, true)];
  const F = NAMES.map((n, k) => ({ name: n, norm: (n === 'vec' ? 'minmax' : n === 'opening' ? 'raw' : 'max') as 'max' | 'minmax' | 'raw', f: f[k]!, cand: ['bmA', 'p5'].includes(n) }));
  const splits = name === 'questions' ? ['judged'] : held ? ['held-out'] : ['tuning'];
  const bm = mappedBm25(c, (t) => t, false);
  return { name, pre: prepare(c, F, splits), bmPre: prepare(c, [{ name: 'bm', norm: 'max', f: (q: Q) => bm(q) }], splits), sib: (K: number, J: number, o: Parameters<typeof siblingRule>[3]) => siblingRule(c, K, J, o) };
});
const w = (o: Record<string, number>) => NAMES.map((n) => o[n] ?? 0);
const ACRO = { bmA: 0.34, vec: 0.15, docbmA: 0.51 };
const base = sets.map((s) => metrics(s.bmPre, [1]).mrr);
type S = (typeof sets)[number];
type Bonus = Parameters<typeof metrics>[2];
export const show = (label: string, weights: number[], bonus?: (s: S) => Bonus) => console.log(label.padEnd(70), sets.map((s, k) => { const m = metrics(s.pre, weights, bonus?.(s)); return `${s.name.slice(0, 3)} ${m.r10.toFixed(3)}/${m.mrr.toFixed(3)}${s.name === 'questions' ? ` t3 ${m.t3}` : ` ${(m.mrr / base[k]!).toFixed(3)}x`}`; }).join('  '));
const sib = (K: number, J: number, x: number, o: Parameters<typeof siblingRule>[3]) => (s: S): Bonus => { const r = s.sib(K, J, o); return (p, j, sc) => r(p, j, sc, x); };
console.log('BM25', sets.map((s, k) => `${s.name} ${base[k]!.toFixed(3)}`).join('  '));
show('default (query acronyms)', w(ACRO));
show('+ opening 0.3', w({ ...ACRO, opening: 0.3 }));
show('+ prefix chunk 0.5 + document 0.1', w({ ...ACRO, p5: 0.5, docp5: 0.1 }));
show('+ opening 0.3 + prefix chunk 0.5 + document 0.1', w({ ...ACRO, opening: 0.3, p5: 0.5, docp5: 0.1 }));
const P = { set: true, key: pre5 };
if (!held) {
  for (const [K, J] of [[3, 0.4], [5, 0.4], [10, 0.4], [5, 0.3], [5, 0.5], [10, 0.5]] as const) for (const x of [0.05, 0.1, 0.2, 0.4]) show(`+ sibling prefix-set K${K} J${J} ${x}`, w(ACRO), sib(K, J, x, P));
  for (const [K, J] of [[5, 0.4], [10, 0.4], [10, 0.5]] as const) for (const x of [0.05, 0.1, 0.2, 0.4]) show(`+ opening 0.3 + sibling prefix-set K${K} J${J} ${x}`, w({ ...ACRO, opening: 0.3 }), sib(K, J, x, P));
  for (const [K, J] of [[5, 0.4], [10, 0.4], [10, 0.5]] as const) for (const x of [0.05, 0.1, 0.2]) show(`+ opening 0.3 + sibling word-set K${K} J${J} ${x}`, w({ ...ACRO, opening: 0.3 }), sib(K, J, x, { set: true }));
}
