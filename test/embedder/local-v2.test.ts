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
    assert.equal(db.embedder!.manifest.artifact, 'text_embedder/default_v2_100.localembed');
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
});
