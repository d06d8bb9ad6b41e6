/**
 * Research only (eval/search/lab/README.md): replays the fusion steps README "Search quality"
 * lists, on a dump (dump.ts), tuning split and judged questions only (the held-out split is
 * not printed, so nothing here can be chosen on it). `STEMMER=/path/to/stemmer/index.js` adds
 * the Porter-stemmer rows (the npm package `stemmer`, installed outside the repo).
 */
import { LocalEmbedder } from '../../../src/index.js';
import { decodeLocalEmbed } from '../../../src/embedder/localembed-file.js';
import { tokenize } from '../../../src/embedder/tokenize.js';
import { STOP_WORDS } from '../../../src/text/text-tokens.js';
import { evaluate, fmt, load, mappedBm25, maxPerDoc, rankDocs, topChunks, type Corpus, type Method, type Q } from './lab.js';

type Part = [number, (q: Q) => Float64Array];
type Bonus = (q: Q, c: Corpus, chunk: number) => number;

/** Weighted fusion as shipped (depth 200, floor 0.1); `parts` take their weight from the chunk's own BM25 share. */
function fusion(o: { w?: number; parts?: Part[]; bonus?: [number, Bonus] } = {}): Method {
  const { w = 0.85, parts = [] } = o;
  return (q, c) => {
    const byV = topChunks(c, q.vs, 200);
    const byT0 = topChunks(c, q.bm, 200, true);
    const best = byT0.length ? q.bm[byT0[0]!]! : 0;
    const byT = byT0.filter((i) => q.bm[i]! >= 0.1 * best);
    const extra = parts.map(([pw, f]) => { const s = f(q); let b = 0; for (const x of s) b = Math.max(b, x); return { pw, s, best: b }; });
    const vv = byV.map((i) => q.vs[i]!);
    const lo = Math.min(...vv), hi = Math.max(...vv);
    const inV = new Set(byV), inT = new Set(byT), all = new Set([...byV, ...byT]);
    const wt = byT.length ? w : 0;
    const own = 1 - extra.reduce((a, e) => a + e.pw, 0);
    const s = new Float64Array(c.chunks.length);
    for (const i of all) {
      const v = inV.has(i) ? (hi === lo ? 1 : (q.vs[i]! - lo) / (hi - lo)) : 0;
      let t = own * (inT.has(i) && best > 0 ? q.bm[i]! / best : 0);
      for (const e of extra) t += e.best > 0 ? (e.pw * e.s[i]!) / e.best : 0;
      s[i] = (1 - wt) * v + wt * t;
    }
    if (o.bonus) for (const i of [...all].sort((a, b) => s[b]! - s[a]!).slice(0, 50)) s[i] = s[i]! + o.bonus[0] * o.bonus[1](q, c, i);
    return maxPerDoc(c, s, (i) => all.has(i));
  };
}

const words = (text: string) => tokenize(text).filter((t) => !STOP_WORDS.has(t));
const adjacent = (w: string[]) => w.slice(1).map((x, j) => `${w[j]} ${x}`);

/** The share of the query's adjacent word pairs that the chunk holds adjacent. */
function pairShare(c: Corpus): Bonus {
  const held = c.chunks.map((ch) => new Set(adjacent(words(ch.text))));
  return (q, _c, i) => { const p = adjacent(words(q.query)); return p.length ? p.filter((x) => held[i]!.has(x)).length / p.length : 0; };
}

/** tf-idf cosine of query and whole document, on every chunk of the document. */
function tfidfDoc(c: Corpus): (q: Q) => Float64Array {
  const tf = c.docs.map(() => new Map<string, number>());
  c.tf.forEach((m, i) => { const d = tf[c.chunkDoc[i]!]!; for (const [t, n] of m) d.set(t, (d.get(t) ?? 0) + n); });
  const df = new Map<string, number>();
  for (const d of tf) for (const t of d.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  const idf = (t: string) => Math.log(c.docs.length / (df.get(t) ?? c.docs.length));
  const norm = tf.map((d) => Math.sqrt([...d].reduce((a, [t, n]) => a + ((1 + Math.log(n)) * idf(t)) ** 2, 0)) || 1);
  return (q) => {
    const byDoc = tf.map((d, k) => q.terms.reduce((a, t) => a + (d.has(t) ? (1 + Math.log(d.get(t)!)) * idf(t) ** 2 : 0), 0) / norm[k]!);
    return Float64Array.from(c.chunkDoc, (d) => byDoc[d]!);
  };
}

/** BM25 of query terms' nearest words in the embedder's word vectors (cos >= theta, m each), weighted by cos. */
async function expansion(c: Corpus, m: number, theta: number): Promise<(q: Q) => Float64Array> {
  const e = await LocalEmbedder.create({ model: 'default_v2' });
  const table = decodeLocalEmbed(e.artifact(), 'default_v2');
  const dim = table.meta.dimension;
  const row = new Map(table.vocabulary.map((w, i) => [w, i]));
  const unit = (w: string) => { const i = row.get(w)!; const v = Float64Array.from(table.vectors.subarray(i * dim, (i + 1) * dim)); const n = Math.hypot(...v) || 1; return v.map((x) => x / n); };
  const vocab = [...new Set(c.tf.flatMap((t) => [...t.keys()]))].filter((w) => /^[a-z]+$/.test(w) && row.has(w));
  const vecs = vocab.map(unit);
  const near = new Map<string, [string, number][]>();
  const neighbours = (t: string) => {
    if (!near.has(t)) {
      const qv = row.has(t) ? unit(t) : null;
      near.set(t, qv ? vecs.map((v, k): [string, number] => [vocab[k]!, v.reduce((a, x, j) => a + x * qv[j]!, 0)]).filter(([w, x]) => x >= theta && w !== t).sort((a, b) => b[1] - a[1]).slice(0, m) : []);
    }
    return near.get(t)!;
  };
  const post = new Map<string, [number, number][]>();
  c.tf.forEach((t, i) => { for (const [w, n] of t) { if (!post.has(w)) post.set(w, []); post.get(w)!.push([i, n]); } });
  const avg = c.len.reduce((a, x) => a + x, 0) / c.len.length;
  return (q) => {
    const s = new Float64Array(c.chunks.length);
    for (const t of q.terms) {
      for (const [w, cos] of neighbours(t)) {
        const list = post.get(w)!;
        const idf = Math.log(1 + (c.len.length - list.length + 0.5) / (list.length + 0.5));
        for (const [i, n] of list) s[i] = s[i]! + (cos * idf * n * 2.2) / (n + 1.2 * (0.25 + (0.75 * c.len[i]!) / avg));
      }
    }
    return s;
  };
}

/** The BM25 of each document's first chunk, on every chunk of the document. */
function firstChunk(c: Corpus): (q: Q) => Float64Array {
  const plain = mappedBm25(c, (t) => t, false);
  const first = new Map<number, number>();
  c.chunks.forEach((ch, i) => { if (ch.index === 0) first.set(c.chunkDoc[i]!, i); });
  return (q) => { const s = plain(q); return Float64Array.from(c.chunkDoc, (d) => s[first.get(d)!]!); };
}

const stem = process.env.STEMMER ? ((await import(process.env.STEMMER)) as { stemmer: (w: string) => string }).stemmer : null;
for (const name of ['npm', 'debian', 'questions']) {
  const c = load(name);
  const doc = mappedBm25(c, (t) => t, true);
  const rows: [string, Method][] = [
    ['BM25 alone', (q) => maxPerDoc(c, q.bm, (i) => q.bm[i]! > 0)],
    ['previous default (weighted 0.85)', fusion()],
    ...[0.3, 0.4, 0.5, 0.6, 0.7, 1].map((x): [string, Method] => [`document BM25 ${x}`, fusion({ parts: [[x, doc]] })]),
    ...[0.8, 0.9].map((w): [string, Method] => [`document BM25 0.6, text weight ${w}`, fusion({ w, parts: [[0.6, doc]] })]),
    ['document BM25 0.6, b 0.3', fusion({ parts: [[0.6, mappedBm25(c, (t) => t, true, 1.2, 0.3)]] })],
    ['pairs 0.2', fusion({ bonus: [0.2, pairShare(c)] })],
    ['document BM25 0.5 + pairs 0.2', fusion({ parts: [[0.5, doc]], bonus: [0.2, pairShare(c)] })],
    ['tf-idf cosine over documents 0.4', fusion({ parts: [[0.4, tfidfDoc(c)]] })],
    ['chunk position prior 1/(1 + 0.1 index)', fusion({ parts: [[1, (() => { const b = mappedBm25(c, (t) => t, false); return (q: Q) => b(q).map((x, i) => x / (1 + 0.1 * c.chunks[i]!.index)); })()]] })],
    ['word-vector query expansion (3 words, cos >= 0.7) 0.1', fusion({ parts: [[0.1, await expansion(c, 3, 0.7)]] })],
    ['BM25 of the first chunk, on its whole document, 0.3', fusion({ parts: [[0.3, firstChunk(c)]] })],
    ['5-letter prefixes, chunk BM25 0.5', fusion({ parts: [[0.5, mappedBm25(c, (t) => t.slice(0, 5), false)]] })],
  ];
  if (stem) {
    const porter = (t: string) => (/^[a-z]+$/.test(t) ? stem(t) : t);
    rows.push(['Porter-stemmed chunk BM25 0.5', fusion({ parts: [[0.5, mappedBm25(c, porter, false)]] })]);
    rows.push(['stemmed chunk 0.2 + stemmed document 0.5', fusion({ parts: [[0.2, mappedBm25(c, porter, false)], [0.5, mappedBm25(c, porter, true)]] })]);
    rows.push(['document 0.4 + stemmed chunk 0.3', fusion({ parts: [[0.4, doc], [0.3, mappedBm25(c, porter, false)]] })]);
  }
  for (const [label, m] of rows) console.log(name.padEnd(9), label.padEnd(56), fmt(evaluate(c, m)));
}
// The per-query oracle: the better of BM25 and vector for each query (tuning).
for (const name of ['npm', 'debian']) {
  const c = load(name);
  const rr = (q: Q, s: Float64Array) => { const r = rankDocs(c, s).findIndex((d) => q.rel.has(c.docs[d]!)); return r < 0 ? 0 : 1 / (r + 1); };
  const t = c.queries.filter((q) => q.split === 'tuning');
  const best = (q: Q) => Math.max(rr(q, maxPerDoc(c, q.bm, (i) => q.bm[i]! > 0)), rr(q, maxPerDoc(c, q.vs, () => true)));
  console.log(name, 'oracle best-of(BM25, vector) MRR@10', (t.reduce((a, q) => a + best(q), 0) / t.length).toFixed(3));
}
