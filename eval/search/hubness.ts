import type { Embedder, Vault } from '../../src/index.js';
import { score, type Ranked } from './metrics.js';
import { covariance, dot, kOccurrence, removeDirections, shrunkWhitener, topDirections, topIndexes } from './hubness-math.js';

/**
 * `npm run eval:search -- --hubness`: vector mode with default_v2 under each query-time hubness
 * correction tried (README "Search quality"), scored by exact search over the vault's stored
 * vectors (best chunk per document, as the main table's groupBy '$doc'). Tuning split only
 * unless `--held-out`; none of these is in the product, since none paid there.
 */

/** default_v2's word-vector dimensions; the hashed words follow them (FORMAT.md "default_v2"). */
const WORD_DIMS = 100;
const TOKEN = /[\p{L}\p{N}]+/gu;

/** An embedder that remembers the term weights the vault last gave a query. */
export function recording(inner: Embedder): { embedder: Embedder; weights: () => (term: string) => number } {
  let weights: ((term: string) => number) | null = null;
  const embedder: Embedder = {
    dimension: inner.dimension,
    manifest: inner.manifest,
    embed: (texts) => inner.embed(texts),
    embedQuery: (text, w) => {
      weights = w;
      return inner.embedQuery!(text, w);
    },
    artifact: () => inner.artifact!(),
  };
  return { embedder, weights: () => weights ?? (() => 1) };
}

interface Chunk {
  id: string;
  doc: string;
  text: string;
  vec: Float32Array;
}

type Scorer = (q: number) => Float64Array;

export async function hubnessRows(corpus: string, vault: Vault, queries: { query: string; relevant: Set<string>; split: string }[], rec: ReturnType<typeof recording>, splits: string[]): Promise<string[]> {
  const chunks: Chunk[] = [];
  for await (const r of vault.records({ withVectors: true })) chunks.push({ id: r.id, doc: r.document?.chunk?.docId ?? r.id, text: r.document?.text ?? '', vec: r.vector! });
  const asked = queries.filter((q) => splits.includes(q.split));
  await vault.search(asked[0]!.query, { mode: 'vector', k: 1 }); // records the vault's term weights
  const weights = rec.weights();
  const embedQuery = (text: string, w = weights) => rec.embedder.embedQuery!(text, w);
  const Q: Float32Array[] = [];
  for (const q of asked) Q.push(await embedQuery(q.query));
  const nC = chunks.length;
  const dim = chunks[0]!.vec.length;
  const raw = (qv: Float32Array | Float64Array, from = 0, to = dim) => Float64Array.from(chunks, (c) => dot(qv, c.vec, from, to));
  const base: Scorer = (q) => raw(Q[q]!);
  const shift = (s: Scorer, by: (c: number) => number): Scorer => (q) => s(q).map((x, c) => x - by(c));

  // Each chunk against every stored chunk of another document: CSLS's r_c, k-occurrence, log Z_c.
  const sameDoc = (a: number, b: number) => chunks[a]!.doc === chunks[b]!.doc;
  const r10 = new Float64Array(nC);
  const logZ = new Float64Array(nC);
  const chunkOcc = new Int32Array(nC);
  const T = 0.05;
  for (let i = 0; i < nC; i++) {
    const s = raw(chunks[i]!.vec);
    const top = topIndexes(s, 10, (j) => sameDoc(i, j));
    r10[i] = top.reduce((a, j) => a + s[j]!, 0) / (top.length || 1);
    for (const j of top) chunkOcc[j]!++;
    let max = -Infinity;
    for (let j = 0; j < nC; j++) if (!sameDoc(i, j)) max = Math.max(max, s[j]!);
    let z = 0;
    for (let j = 0; j < nC; j++) if (!sameDoc(i, j)) z += Math.exp((s[j]! - max) / T);
    logZ[i] = max / T + Math.log(z);
  }
  // Pseudo-queries: each chunk's first sentence (up to 16 words), embedded as a query is.
  const probes: { chunk: number; vec: Float32Array }[] = [];
  for (let i = 0; i < nC; i++) {
    const words = chunks[i]!.text.split(/[.!?]\s|\n\s*\n/)[0]!.match(TOKEN)?.slice(0, 16) ?? [];
    if (words.length >= 2) probes.push({ chunk: i, vec: await embedQuery(words.join(' ')) });
  }
  const probeOcc = kOccurrence(probes.length, nC, 10, (p) => raw(probes[p]!.vec), (p, i) => sameDoc(probes[p]!.chunk, i));
  const perThousand = (c: number) => (1000 * probeOcc[c]!) / probes.length;

  const { cov } = covariance(chunks.map((c) => c.vec), dim);
  const dirs = topDirections(cov, dim, 10);
  const wordDirs = topDirections(covariance(chunks.map((c) => c.vec.subarray(0, WORD_DIMS)), WORD_DIMS).cov, WORD_DIMS, 3);
  const length = chunks.map((c) => Math.sqrt(c.text.match(TOKEN)?.length ?? 1));
  const pivot = [...length].sort((a, b) => a - b)[Math.floor(length.length / 2)]!;
  const tableLike = chunks.map((c) => {
    const lines = c.text.split('\n').filter((l) => l.trim());
    return lines.filter((l) => (l.match(/\|/g)?.length ?? 0) >= 2).length / (lines.length || 1) >= 0.3;
  });
  const idfQ: Float32Array[] = [];
  for (const q of asked) idfQ.push(await embedQuery(q.query, (t) => weights(t) ** 2));

  const corrections: [string, Scorer][] = [
    ['none (default_v2 as shipped)', base],
    ...[1, 3, 10].map((d): [string, Scorer] => [`top ${d} principal directions of the chunks removed from the query`, (q) => raw(removeDirections(Q[q]!, dirs.slice(0, d)))]),
    ['top 3 directions of the word-vector half removed', (q) => raw(removeDirections(Q[q]!, wordDirs))],
    ...[1, 3, 10].map((l): [string, Scorer] => {
      const w = shrunkWhitener(cov, dim, l);
      return [`query whitened by the chunks' covariance, shrinkage ${l}`, (q) => raw(w(Q[q]!))];
    }),
    ['CSLS: r_c / 2 subtracted (10 nearest chunks)', shift(base, (c) => r10[c]! / 2)],
    ['inverted softmax over the chunks (T 0.05, half)', shift(base, (c) => 0.5 * T * logZ[c]!)],
    ...[0.01, 0.03].map((b): [string, Scorer] => [`k-occurrence among chunks' 10 nearest, ${b} log(1 + N)`, shift(base, (c) => b * Math.log1p(chunkOcc[c]!))]),
    ...[0.02, 0.04].map((b): [string, Scorer] => [`k-occurrence among first-sentence pseudo-queries, ${b}`, shift(base, (c) => b * Math.log1p(perThousand(c)))]),
    ['pivoted length (b 0.8, sqrt of words)', (q) => base(q).map((x, c) => (x * length[c]!) / (0.2 * pivot + 0.8 * length[c]!))],
    ['query weights idf instead of sqrt(idf)', (q) => raw(idfQ[q]!)],
    ['hashed half dropped for table-like chunks', (q) => Float64Array.from(chunks, (c, i) => (tableLike[i] ? dot(Q[q]!, c.vec, 0, WORD_DIMS) : dot(Q[q]!, c.vec)))],
    ['bound: the relevant document forced first', (q) => base(q).map((x, c) => (asked[q]!.relevant.has(chunks[c]!.doc) ? x + 10 : x))],
  ];
  const rows: string[] = [];
  for (const [name, scorer] of corrections) {
    const runs = asked.map((q, i) => ({ relevant: q.relevant, split: q.split, ranked: rank(chunks, scorer(i)) }));
    for (const split of splits) {
      const these = runs.filter((r) => r.split === split);
      const s = score(these);
      rows.push(`| ${corpus} | ${split} (${these.length}) | ${name} | ${s.recall10.toFixed(3)} | ${s.mrr10.toFixed(3)} | ${(100 * s.hub).toFixed(1)}% | ${s.hubId} |`);
    }
  }
  return rows;
}

/** The first 10 documents by their best chunk, and the chunks of the first three. */
function rank(chunks: Chunk[], scores: Float64Array): Ranked {
  const best = new Map<string, number>();
  scores.forEach((s, c) => {
    const b = best.get(chunks[c]!.doc);
    if (b === undefined || s > scores[b]!) best.set(chunks[c]!.doc, c);
  });
  const top = [...best.entries()].sort((a, b) => scores[b[1]]! - scores[a[1]]!).slice(0, 10);
  return { docs: top.map(([d]) => d), top3: top.slice(0, 3).map(([, c]) => chunks[c]!.id) };
}
