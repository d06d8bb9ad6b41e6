/**
 * Research only (eval/search/lab/README.md): the longest run of the query's words that a
 * document's opening section holds verbatim (its first 1,500 characters from its first markdown
 * heading, or from its start without one; markdown link targets and HTML tags taken out), as a
 * share of the query, added to the acronym default, alone and with prefix BM25. Tuning split and
 * judged questions; HELDOUT=1 prints the held-out split (README records the one look taken).
 */
import { tokenize } from '../../../src/embedder/tokenize.js';
import { load, mappedBm25, type Corpus, type Q } from './lab.js';
import { metrics, prepare } from './mix.js';
import { acronyms, prefixBm25 } from './signals.js';

const CHARS = Number(process.env.LEAD ?? 1500);

function withAcronyms(c: Corpus, doc: boolean) {
  const plain = mappedBm25(c, (t) => t, doc);
  const derived = new Map<Q, Q>();
  return (q: Q) => {
    let d = derived.get(q);
    if (!d) derived.set(q, (d = { ...q, terms: [...new Set([...q.terms, ...acronyms(q.query)])] }));
    return plain(d);
  };
}

function openingRun(c: Corpus) {
  const byDoc = c.docs.map(() => [] as number[]);
  c.chunks.forEach((_, i) => byDoc[c.chunkDoc[i]!]!.push(i));
  const tokens = byDoc.map((ids) => {
    ids.sort((a, b) => c.chunks[a]!.index - c.chunks[b]!.index);
    const full = ids.map((i) => c.chunks[i]!.text).join('\n');
    const m = /^\s{0,3}#{1,6}\s+\S.*$/m.exec(full);
    const opening = m ? full.slice(m.index, m.index + CHARS) : full.slice(0, CHARS);
    return tokenize(opening.replace(/\]\[[^\]]*\]|\]\([^)]*\)/g, ' ').replace(/<[^>]*>/g, ' '));
  });
  return (q: Q): Float64Array => {
    const qt = tokenize(q.query);
    const byD = tokens.map((t) => {
      let best = 0;
      for (let a = 0; a < qt.length; a++) for (let p = 0; p < t.length; p++) { if (t[p] !== qt[a]) continue; let k = 0; while (a + k < qt.length && t[p + k] === qt[a + k]) k++; best = Math.max(best, k); }
      return qt.length >= 2 && best >= 2 ? best / qt.length : 0;
    });
    return Float64Array.from(c.chunkDoc, (d) => byD[d]!);
  };
}

const splits = process.env.HELDOUT === '1' ? ['held-out'] : ['tuning'];
const sets = ['npm', 'debian', 'questions'].map((name) => {
  const c = load(name);
  const F = [
    { name: 'bmA', norm: 'max' as const, f: withAcronyms(c, false), cand: true },
    { name: 'vec', norm: 'minmax' as const, f: (q: Q) => q.vs },
    { name: 'docbmA', norm: 'max' as const, f: withAcronyms(c, true) },
    { name: 'opening', norm: 'raw' as const, f: openingRun(c) },
    { name: 'p5', norm: 'max' as const, f: prefixBm25(c, false), cand: true },
    { name: 'docp5', norm: 'max' as const, f: prefixBm25(c, true) },
  ];
  return { name, pre: prepare(c, F, name === 'questions' ? ['judged'] : splits) };
});
const show = (label: string, w: number[]) => console.log(label.padEnd(48), sets.map((s) => { const m = metrics(s.pre, w); return `${s.name} ${m.r10.toFixed(3)}/${m.mrr.toFixed(3)}${s.name === 'questions' ? ` t3 ${m.t3}` : ''}`; }).join('  '));
show('default (query acronyms)', [0.34, 0.15, 0.51, 0, 0, 0]);
for (const v of [0.05, 0.1, 0.2, 0.3, 0.5, 0.8]) show(`+ opening verbatim run ${v}`, [0.34, 0.15, 0.51, v, 0, 0]);
for (const v of [0.3, 0.5]) show(`+ opening run ${v} + prefix chunk 0.5, document 0.1`, [0.34, 0.15, 0.51, v, 0.5, 0.1]);
