/**
 * Research only (eval/search/lab/README.md): a pairwise sibling rule by the embedder. For two
 * documents in the fused ranking's top K whose term sets overlap by Jaccard >= J, each one's
 * own text (its paragraphs the other does not hold) is embedded with default_v2, and each gets
 * w x (cosine of the query with its own text - the other's). A pair where one side has no own
 * text is skipped (EMPTY=skip) or scores that side 0 (EMPTY=zero). Also with the lexical
 * prefix-set rule of sibling.ts and the opening run. Tuning and judged; HELDOUT=1 held-out.
 */
import { LocalEmbedder } from '../../../src/index.js';
import { tokenize } from '../../../src/embedder/tokenize.js';
import { STOP_WORDS } from '../../../src/text/text-tokens.js';
import { load, mappedBm25, type Corpus, type Q } from './lab.js';
import { metrics, prepare, type Pre } from './mix.js';
import { pre5, prefixBm25 } from './signals.js';
import { openingRun, siblingRule, withAcronyms } from './sibling.js';

const held = process.env.HELDOUT === '1';
const embedder = await LocalEmbedder.create({ model: 'default_v2' });
const norm = (p: string) => tokenize(p).filter((t) => !STOP_WORDS.has(t)).join(' ');

async function vectorRule(c: Corpus) {
  const byDoc = c.docs.map(() => [] as number[]);
  c.chunks.forEach((_, i) => byDoc[c.chunkDoc[i]!]!.push(i));
  // each document's paragraphs, in order, de-duplicated (chunks overlap)
  const paras = byDoc.map((ids) => {
    ids.sort((a, b) => c.chunks[a]!.index - c.chunks[b]!.index);
    const seen = new Map<string, string>();
    for (const i of ids) for (const p of c.chunks[i]!.text.split(/\n\s*\n/)) { const k = norm(p); if (k && !seen.has(k)) seen.set(k, p); }
    return seen;
  });
  const dterms = c.docs.map(() => new Set<string>());
  c.tf.forEach((m, i) => { for (const t of m.keys()) dterms[c.chunkDoc[i]!]!.add(t); });
  const jc = new Map<number, number>();
  const N = c.docs.length;
  const jaccard = (a: number, b: number) => { const k = a < b ? a * N + b : b * N + a; let v = jc.get(k); if (v === undefined) { let n = 0; for (const t of dterms[a]!) if (dterms[b]!.has(t)) n++; v = n / (dterms[a]!.size + dterms[b]!.size - n); jc.set(k, v); } return v; };
  const vcache = new Map<string, Float32Array>();
  const embed = async (t: string) => { let v = vcache.get(t); if (!v) vcache.set(t, (v = (await embedder.embed([t]))[0]!)); return v; };
  const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
  const own = (a: number, b: number) => [...paras[a]!].filter(([k]) => !paras[b]!.has(k)).map(([, p]) => p).join('\n\n');
  // precompute per query over the default's top K (the rule re-ranks that list only)
  return async (pre: Pre[], K: number, J: number, empty: 'skip' | 'zero', w0: number[]) => {
    const out = new Map<Pre, Map<number, number>>();
    for (const p of pre) {
      const s = p.x.map((f) => { let v = 0; for (let k = 0; k < w0.length; k++) v += w0[k]! * f[k]!; return v; });
      const best = new Map<number, number>();
      s.forEach((v, k) => { const d = p.docOf[k]!; if (v > (best.get(d) ?? -Infinity)) best.set(d, v); });
      const top = [...best].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, K).map(([d]) => d);
      const qv = await embed(p.q.query);
      const m = new Map<number, number>();
      for (let x = 0; x < top.length; x++) for (let y = x + 1; y < top.length; y++) {
        const a = top[x]!, b = top[y]!;
        if (jaccard(a, b) < J) continue;
        const oa = own(a, b), ob = own(b, a);
        if ((!oa || !ob) && empty === 'skip') continue;
        const ca = oa ? dot(qv, await embed(oa)) : 0, cb = ob ? dot(qv, await embed(ob)) : 0;
        m.set(a, (m.get(a) ?? 0) + ca - cb); m.set(b, (m.get(b) ?? 0) + cb - ca);
      }
      out.set(p, m);
    }
    return (x: number) => (p: Pre, j: number) => x * (out.get(p)!.get(p.docOf[j]!) ?? 0);
  };
}

const NAMES = ['bmA', 'vec', 'docbmA', 'opening', 'p5', 'docp5'];
const sets = await Promise.all(['npm', 'debian', 'questions'].map(async (name) => {
  const c = load(name);
  const f = [withAcronyms(c, false), (q: Q) => q.vs, withAcronyms(c, true), openingRun(c), prefixBm25(c, false), prefixBm25(c, true)];
  const F = NAMES.map((n, k) => ({ name: n, norm: (n === 'vec' ? 'minmax' : n === 'opening' ? 'raw' : 'max') as 'max' | 'minmax' | 'raw', f: f[k]!, cand: ['bmA', 'p5'].includes(n) }));
  const splits = name === 'questions' ? ['judged'] : held ? ['held-out'] : ['tuning'];
  const bm = mappedBm25(c, (t) => t, false);
  return { name, c, pre: prepare(c, F, splits), bmPre: prepare(c, [{ name: 'bm', norm: 'max', f: (q: Q) => bm(q) }], splits), vr: await vectorRule(c) };
}));
const w = (o: Record<string, number>) => NAMES.map((n) => o[n] ?? 0);
const ACRO = { bmA: 0.34, vec: 0.15, docbmA: 0.51 };
const base = sets.map((s) => metrics(s.bmPre, [1]).mrr);
type Bonus = Parameters<typeof metrics>[2];
const show = (label: string, weights: number[], bonus: Bonus[] = []) => console.log(label.padEnd(72), sets.map((s, k) => { const m = metrics(s.pre, weights, bonus[k]); return `${s.name.slice(0, 3)} ${m.r10.toFixed(3)}/${m.mrr.toFixed(3)}${s.name === 'questions' ? ` t3 ${m.t3}` : ` ${(m.mrr / base[k]!).toFixed(3)}x`}`; }).join('  '));
const both = (a: Bonus, b?: Bonus): Bonus => (b ? (p, j, s) => a!(p, j, s) + b(p, j, s) : a);
console.log('BM25', sets.map((s, k) => `${s.name} ${base[k]!.toFixed(3)}`).join('  '));
const ROWS: [string, Record<string, number>][] = [['default', ACRO], ['opening 0.3', { ...ACRO, opening: 0.3 }], ['prefix 0.5/0.1', { ...ACRO, p5: 0.5, docp5: 0.1 }]];
for (const [label, o] of ROWS) {
  show(label, w(o));
  for (const [K, J] of (held ? [] : [[3, 0.4], [5, 0.4], [5, 0.3], [5, 0.5], [10, 0.4]]) as [number, number][]) for (const empty of ['skip', 'zero'] as const) {
    const rules = await Promise.all(sets.map((s) => s.vr(s.pre, K, J, empty, w(o))));
    for (const x of [0.05, 0.1, 0.2, 0.4, 0.8]) show(`${label} + sibling vector K${K} J${J} ${empty} ${x}`, w(o), rules.map((r) => r(x)));
    const lex = sets.map((s) => siblingRule(s.c, K, J, { set: true, key: pre5 }));
    for (const x of [0.1, 0.2]) for (const y of [0.05, 0.1]) show(`${label} + sibling vector K${K} J${J} ${empty} ${x} + prefix-set ${y}`, w(o), rules.map((r, k) => both(r(x), (p, j, s) => lex[k]!(p, j, s, y))));
  }
}
