/**
 * npm run eval:search [-- --write-list] [--experiments] [--grid] [--only npm|debian|questions] [--embedder v1|v2] [--hubness [--held-out]]
 * Recall@10 and MRR@10 of each search mode and setting, per corpus and split (README "Search
 * quality"). Documents are added with addText (chunked as users do); a query's ranking is its
 * hits grouped by document (groupBy '$doc', the best chunk each), so a document counts once.
 */
import { open } from '../../src/index.js';
import type { Embedder, SearchOptions } from '../../src/index.js';
import { loadNpmCorpus, type KnownItem } from './npm-corpus.js';
import { loadDebianCorpus } from './debian-corpus.js';
import { loadQuestions } from './questions.js';
import { relevantInTop3, score, type Ranked } from './metrics.js';
import { embedders } from './embedders.js';
import { settings } from './settings.js';
import { hubnessRows, recording } from './hubness.js';

const args = new Set(process.argv.slice(2));
const writeList = args.has('--write-list');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const t0 = performance.now();
/** Where the npm corpus's packages are looked for. */
const ROOTS = ['node_modules', '/usr/lib/node_modules', '/usr/share/nodejs'];

interface Corpus {
  name: string;
  docs: { id: string; text: string }[];
  queries: { query: string; relevant: Set<string>; split: string }[];
}

function knownItems(name: string, items: KnownItem[]): Corpus {
  return { name, docs: items.map((i) => ({ id: i.name, text: i.doc })), queries: items.map((i) => ({ query: i.query, relevant: new Set([i.name]), split: i.split })) };
}

const corpora: Corpus[] = [];
if (!only || only === 'npm') {
  const npm = loadNpmCorpus(ROOTS, writeList);
  if (npm.missing.length) console.log(`npm corpus: ${npm.missing.length} listed packages not installed (left out): ${npm.missing.slice(0, 5).join(', ')}...`);
  corpora.push(knownItems('npm', npm.items));
}
if (!only || only === 'debian') {
  const deb = loadDebianCorpus(writeList);
  if (deb.missing.length) console.log(`debian corpus: ${deb.missing.length} listed packages not installed (left out)`);
  corpora.push(knownItems('debian', deb.items));
}
if (!only || only === 'questions') {
  const q = loadQuestions(ROOTS);
  corpora.push({ name: 'questions', docs: q.docs, queries: q.questions.map((x) => ({ query: x.question, relevant: new Set(x.relevant), split: 'judged' })) });
}

/** The best chunk per document (groupBy '$doc'), first 10 documents; the top 3 for hubness. */
async function rank(vault: Awaited<ReturnType<Awaited<ReturnType<typeof open>>['createVault']>>, query: string, options: SearchOptions): Promise<Ranked> {
  const hits = await vault.search(query, { ...options, k: 10, groupBy: '$doc', exact: true });
  return { docs: hits.map((h) => String(h.groupKey)), top3: hits.slice(0, 3).map((h) => h.id) };
}

const rows: string[] = [];
rows.push('| corpus | split | embedder | mode | recall@10 | MRR@10 | top-3 relevant | hub | hub chunk | ms/query |');
rows.push('|---|---|---|---|---:|---:|---:|---:|---|---:|');
const onlyEmbedder = process.argv.includes('--embedder') ? process.argv[process.argv.indexOf('--embedder') + 1] : null;
// --hubness: the query-time hubness corrections tried, vector mode with default_v2 (hubness.ts).
const hubness: string[] = ['| corpus | split | correction (vector mode, default_v2) | recall@10 | MRR@10 | hub | hub chunk |', '|---|---|---|---:|---:|---:|---|'];
for (const [ename, make] of embedders(args.has('--experiments'))) {
  if (onlyEmbedder && ename !== onlyEmbedder) continue;
  const made: Embedder = await make();
  const rec = args.has('--hubness') && ename === 'v2' ? recording(made) : null;
  const embedder = rec ? rec.embedder : made;
  for (const corpus of corpora) {
    const db = await open(undefined, { embedder, dimension: embedder.dimension, durability: 'ephemeral' });
    const vault = await db.createVault('eval');
    for (const d of corpus.docs) await vault.addText(d.id, d.text);
    for (const [sname, options] of settings(args.has('--grid'))) {
      if (options.mode === 'text' && ename !== 'v1') continue; // the same for every embedder
      const runs: { relevant: Set<string>; ranked: Ranked; split: string }[] = [];
      // Time per query (groupBy '$doc', exact vector scan, embedding the query included): compare
      // settings within one run only, the machine is shared.
      const started = performance.now();
      for (const q of corpus.queries) runs.push({ relevant: q.relevant, split: q.split, ranked: await rank(vault, q.query, options) });
      const ms = (performance.now() - started) / corpus.queries.length;
      for (const split of [...new Set(runs.map((r) => r.split))].sort().reverse()) {
        const these = runs.filter((r) => r.split === split);
        const s = score(these);
        rows.push(`| ${corpus.name} | ${split} (${these.length}) | ${options.mode === 'text' ? '-' : ename} | ${sname} | ${s.recall10.toFixed(3)} | ${s.mrr10.toFixed(3)} | ${relevantInTop3(these)}/${3 * these.length} | ${(100 * s.hub).toFixed(1)}% | ${s.hubId} | ${ms.toFixed(2)} |`);
      }
    }
    if (rec && corpus.name !== 'questions') hubness.push(...(await hubnessRows(corpus.name, vault, corpus.queries, rec, args.has('--held-out') ? ['tuning', 'held-out'] : ['tuning'])));
    await db.close();
  }
}
console.log(rows.join('\n'));
if (args.has('--hubness')) console.log(`\n${hubness.join('\n')}`);
console.log(`\n${((performance.now() - t0) / 1000).toFixed(0)} s`);
