/**
 * Research only: over the acronym default's ranking (tuning), pairs of near-identical siblings
 * (term Jaccard >= J) in the top K where one is the relevant document: is the relevant one the
 * one with fewer terms of its own, does the query match its own terms more (set difference)?
 */
import { load, type Q } from './lab.js';
import { prepare, rankOf } from './mix.js';
import { withAcronyms } from './sibling.js';
import { acronyms } from './signals.js';
const J = Number(process.env.J ?? 0.4), K = Number(process.env.K ?? 5);
for (const name of ['npm', 'debian']) {
  const c = load(name);
  const pre = prepare(c, [
    { name: 'bmA', norm: 'max', f: withAcronyms(c, false), cand: true },
    { name: 'vec', norm: 'minmax', f: (q: Q) => q.vs },
    { name: 'docbmA', norm: 'max', f: withAcronyms(c, true) },
  ], [process.env.SPLIT ?? 'tuning']);
  const dterms = c.docs.map(() => new Set<string>());
  c.tf.forEach((m, i) => { for (const t of m.keys()) dterms[c.chunkDoc[i]!]!.add(t); });
  const jac = (a: number, b: number) => { let n = 0; for (const t of dterms[a]!) if (dterms[b]!.has(t)) n++; return n / (dterms[a]!.size + dterms[b]!.size - n); };
  const own = (a: number, b: number) => [...dterms[a]!].filter((t) => !dterms[b]!.has(t));
  const tally: Record<string, number> = {};
  const inc = (k: string) => { tally[k] = (tally[k] ?? 0) + 1; };
  for (const p of pre) {
    const r = rankOf(p, [0.34, 0.15, 0.51]).slice(0, K);
    const rel = r.find((d) => p.rel.has(d));
    if (rel === undefined) continue;
    const qt = new Set([...p.q.terms, ...acronyms(p.q.query)]);
    for (const d of r) {
      if (d === rel || jac(d, rel) < J) continue;
      const relAbove = r.indexOf(rel) < r.indexOf(d);
      const a = own(rel, d), b = own(d, rel);
      const qa = a.filter((t) => qt.has(t)).length, qb = b.filter((t) => qt.has(t)).length;
      inc(`pairs ${relAbove ? 'relAbove' : 'relBelow'}`);
      inc(`${relAbove ? 'A' : 'B'} own-terms rel<sib ${a.length < b.length} | query own rel>sib ${qa > qb} rel<sib ${qa < qb} eq ${qa === qb}`);
      if (process.env.V && !relAbove) console.log(name, JSON.stringify(p.q.query), c.docs[rel], a.length, qa, 'vs', c.docs[d], b.length, qb, '| rel own:', a.slice(0, 12).join(' '), '| sib own:', b.slice(0, 12).join(' '));
    }
  }
  console.log(name, Object.entries(tally).sort().map(([k, v]) => `\n  ${k}: ${v}`).join(''));
}
