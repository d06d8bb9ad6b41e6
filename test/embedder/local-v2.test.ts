import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { LocalEmbedder, open } from '../../src/index.js';
import { decodeLocalEmbed } from '../../src/embedder/localembed-file.js';
import type { LocalEmbedMetaV2 } from '../../src/embedder/local-v2.js';

const pairs = JSON.parse(fs.readFileSync(new URL('../data/paraphrases.json', import.meta.url), 'utf8')) as [string, string, string][];
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('the built-in embedder default_v2', () => {
  it("is what 'local' gives a new database; its artifact alone recreates it", async () => {
    const db = await open(undefined, { embedder: 'local' });
    assert.equal(db.embedder!.manifest.model, 'default_v2');
    assert.equal(db.embedder!.manifest.artifact, 'text_embedder/default_v2_256.localembed');
    await db.close();
    const e = await LocalEmbedder.create({ model: 'default_v2' });
    const table = decodeLocalEmbed(e.artifact(), 'artifact');
    const meta = table.meta as LocalEmbedMetaV2;
    assert.equal(meta.words, 100_000);
    assert.equal(meta.components.length, 1);
    assert.ok(e.artifact().byteLength <= 12e6, `${e.artifact().byteLength} bytes`);
    const copy = await LocalEmbedder.create({ artifact: Uint8Array.from(e.artifact()) });
    assert.equal(copy.manifest.fingerprint, e.manifest.fingerprint);
    const text = 'parseHTTPHeader zqxjkv out-of-vocabulary words and common ones';
    assert.deepEqual(await copy.embed([text]), await e.embed([text]));
  });

  it('default_v1 stays readable and bit-identical', async () => {
    const v1 = await LocalEmbedder.create({ model: 'default_v1' });
    assert.equal(v1.manifest.model, 'default_v1');
    assert.equal(decodeLocalEmbed(v1.artifact(), 'a').meta.words, 50_000);
    const [x] = await v1.embed(['the quick brown fox']);
    const again = await LocalEmbedder.create({ artifact: Uint8Array.from(v1.artifact()) });
    assert.deepEqual(await again.embed(['the quick brown fox']), [x]);
  });

  it(`scores each of ${pairs.length} paraphrase pairs above an unrelated sentence`, async () => {
    const e = await LocalEmbedder.create({ model: 'default_v2' });
    for (const [a, paraphrase, unrelated] of pairs) {
      const [va, vp, vu] = await e.embed([a, paraphrase, unrelated]);
      assert.ok(cos(va!, vp!) > cos(va!, vu!), `"${a}" / "${paraphrase}" (${cos(va!, vp!).toFixed(3)}) vs "${unrelated}" (${cos(va!, vu!).toFixed(3)})`);
    }
  });

  it('splits identifiers into their known words: readFileSync is near "read file"', async () => {
    const e = await LocalEmbedder.create({ model: 'default_v2' });
    const [id, words, other] = await e.embed(['readFileSync', 'read a file', 'ocean voyage']);
    assert.ok(cos(id!, words!) > cos(id!, other!) + 0.1, `${cos(id!, words!)} vs ${cos(id!, other!)}`);
  });

  it('keeps rare exact words: a vector search for an identifier finds the one document that has it', async () => {
    // Averaged word vectors alone (default_v2 revision 1, default_v1) blur ERR_4411 into the
    // many "error" notes; the hashed bag of words (lexical.ts) keeps it.
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('kb');
    const topics = ['error in the billing service', 'an error while parsing the configuration', 'disk error on the storage node', 'network error during the upload', 'error reported by the scheduler'];
    await v.addDocuments(Array.from({ length: 40 }, (_, i) => ({ id: `noise-${i}`, text: `Err, ${topics[i % 5]} number ${i}.` })));
    await v.addDocument({ id: 'target', text: 'Quarterly planning notes: the team reviewed hiring, budgets and the roadmap. One ticket, ERR_4411, was closed.' });
    const hits = await v.search('ERR_4411', { mode: 'vector', k: 5 });
    assert.equal(hits[0]!.id, 'target', hits.map((h) => h.id).join());
    assert.equal(db.identity.dimension, 256, '100 word-vector dimensions and 156 hashed-word ones');
    await db.close();
  });
});
