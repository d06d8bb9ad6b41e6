/**
 * Research only (eval/search/lab/README.md): dumps, per corpus, every chunk (id, document,
 * position, text, vector) and per query the BM25 score and the vector score of every chunk, so
 * fusion rules can be replayed offline without re-embedding.
 */
import * as fs from 'node:fs';
import { open, LocalEmbedder } from '../../../src/index.js';
import { loadNpmCorpus } from '../npm-corpus.js';
import { loadDebianCorpus } from '../debian-corpus.js';
import { loadQuestions } from '../questions.js';

const ROOTS = ['node_modules', '/usr/lib/node_modules', '/usr/share/nodejs'];
const out = process.argv[2]!;
const corpora: { name: string; docs: { id: string; text: string }[]; queries: { query: string; relevant: string[]; split: string }[] }[] = [];
const npm = loadNpmCorpus(ROOTS, false).items;
corpora.push({ name: 'npm', docs: npm.map((i) => ({ id: i.name, text: i.doc })), queries: npm.map((i) => ({ query: i.query, relevant: [i.name], split: i.split })) });
const deb = loadDebianCorpus(false).items;
corpora.push({ name: 'debian', docs: deb.map((i) => ({ id: i.name, text: i.doc })), queries: deb.map((i) => ({ query: i.query, relevant: [i.name], split: i.split })) });
const q = loadQuestions(ROOTS);
corpora.push({ name: 'questions', docs: q.docs, queries: q.questions.map((x) => ({ query: x.question, relevant: x.relevant, split: 'judged' })) });
const embedder = await LocalEmbedder.create({ model: 'default_v2' });
const round = (x: number) => Math.round(x * 1e6) / 1e6;
for (const c of corpora) {
  const db = await open(undefined, { embedder, dimension: embedder.dimension, durability: 'ephemeral' });
  const vault = await db.createVault('eval');
  for (const d of c.docs) await vault.addText(d.id, d.text);
  const ids = vault.ids();
  const chunks = ids.map((id) => {
    const r = vault.get(id)!;
    const ch = r.document?.chunk;
    return { id, doc: ch?.docId ?? id, index: ch?.index ?? 0, text: r.document?.text ?? '', vector: Array.from(r.vector, round) };
  });
  const index = new Map(ids.map((id, i) => [id, i]));
  const queries = [];
  const n = ids.length;
  for (const qq of c.queries) {
    const text = await vault.search(qq.query, { mode: 'text', k: Math.min(n, 10000), exact: true });
    const vec = await vault.search(qq.query, { mode: 'vector', k: Math.min(n, 10000), exact: true });
    const vs = new Array<number>(n).fill(0);
    for (const h of vec) vs[index.get(h.id)!] = round(h.score);
    queries.push({ ...qq, text: text.map((h) => [index.get(h.id)!, h.score]), vector: vs });
  }
  fs.writeFileSync(`${out}/${c.name}.json`, JSON.stringify({ chunks, queries }));
  console.log(c.name, n, 'chunks', queries.length, 'queries');
  await db.close();
}
