/** embed <dir> <text>: opens the database, prints its embedder fingerprint and the text's vector as JSON. */
import { open, LocalEmbedder } from '../../src/index.js';

const [dir, text] = process.argv.slice(2);
const db = await open(dir!);
const [vector] = await db.embedder!.embed([text!]);
let canCreate = true;
try {
  await LocalEmbedder.create({ model: 'default_v1' }); // built from the hidden package
} catch {
  canCreate = false;
}
console.log(JSON.stringify({ fingerprint: db.embedder!.manifest.fingerprint, vector: Array.from(vector!), canCreateFromPackage: canCreate }));
await db.close();
