/**
 * Research only: for the acronym default on the tuning split, every query whose relevant
 * document is not first: the query, the documents above it and their term Jaccard with it.
 */
import { load } from './lab.js';
import { prepare, rankOf } from './mix.js';
import { acronyms } from './signals.js';
import { mappedBm25, type Corpus, type Q } from './lab.js';

function withAcronyms(c: Corpus, doc: boolean) {
  const plain = mappedBm25(c, (t) => t, doc);
  const derived = new Map<Q, Q>();
  return (q: Q) => { let d = derived.get(q); if (!d) derived.set(q, (d = { ...q, terms: [...new Set([...q.terms, ...acronyms(q.query)])] })); return plain(d); };
}
const name = process.argv[2] ?? 'npm';
const c = load(name);
const F = [
  { name: 'bmA', norm: 'max' as const, f: withAcronyms(c, false), cand: true },
  { name: 'vec', norm: 'minmax' as const, f: (q: Q) => q.vs },
  { name: 'docbmA', norm: 'max' as const, f: withAcronyms(c, true) },
  { name: 'bm', norm: 'max' as const, f: (q: Q) => q.bm },
];
const pre = prepare(c, F, ['tuning']);
const dterms = c.docs.map(() => new Set<string>());
c.tf.forEach((m, i) => { for (const t of m.keys()) dterms[c.chunkDoc[i]!]!.add(t); });
const jac = (a: number, b: number) => { let n = 0; for (const t of dterms[a]!) if (dterms[b]!.has(t)) n++; return n / (dterms[a]!.size + dterms[b]!.size - n); };
const docText = (d: number) => c.chunks.filter((_, i) => c.chunkDoc[i] === d).sort((a, b) => a.index - b.index).map((x) => x.text).join('\n');
let mrr = 0, bmm = 0;
for (const p of pre) {
  const r = rankOf(p, [0.34, 0.15, 0.51, 0]);
  const rb = rankOf(p, [0, 0, 0, 1]);
  const f = r.findIndex((d) => p.rel.has(d));
  const fb = rb.findIndex((d) => p.rel.has(d));
  mrr += f >= 0 ? 1 / (f + 1) : 0; bmm += fb >= 0 ? 1 / (fb + 1) : 0;
  if (f === 0) continue;
  const rel = [...p.rel][0]!;
  console.log(`\n### ${JSON.stringify(p.q.query)} rel=${c.docs[rel]} rank=${f} bmrank=${fb}`);
  for (const d of r.slice(0, f < 0 ? 3 : f)) console.log(`   above: ${c.docs[d]} J=${jac(d, rel).toFixed(2)}`);
  if (process.env.TEXT) { console.log('   REL:', docText(rel).slice(0, 600).replace(/\n/g, ' | ')); if (r[0] !== undefined) console.log('   TOP:', docText(r[0]).slice(0, 600).replace(/\n/g, ' | ')); }
}
console.log(name, 'default', (mrr / pre.length).toFixed(3), 'bm25', (bmm / pre.length).toFixed(3), pre.length);
