import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { LocalEmbedder, tokenize } from '../../src/index.js';
import { decodeLocalEmbed } from '../../src/embedder/localembed-file.js';

const pairs = JSON.parse(fs.readFileSync(new URL('../data/paraphrases.json', import.meta.url), 'utf8')) as [string, string, string][];
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('the built-in embedder', () => {
  it(`scores each of ${pairs.length} paraphrase pairs above an unrelated sentence, by a clear margin`, async () => {
    const e = await LocalEmbedder.create({ model: 'default_v1' });
    assert.ok(pairs.length >= 20);
    const margins: number[] = [];
    for (const [a, paraphrase, unrelated] of pairs) {
      const [va, vp, vu] = await e.embed([a, paraphrase, unrelated]);
      const margin = cos(va!, vp!) - cos(va!, vu!);
      assert.ok(margin > 0.05, `"${a}" / "${paraphrase}" (${cos(va!, vp!).toFixed(3)}) vs "${unrelated}" (${cos(va!, vu!).toFixed(3)})`);
      margins.push(margin);
    }
    const mean = margins.reduce((s, m) => s + m, 0) / margins.length;
    assert.ok(mean > 0.2, `mean margin ${mean}`);
  });

  it('tokenises deterministically and documentedly', () => {
    assert.deepEqual(tokenize("ERR_4411 isn't ＦＵＬＬ-width Café naïve"), ['err', '4411', 'isn', 't', 'full', 'width', 'café', 'naïve']);
    assert.deepEqual(tokenize('  ,.;  '), []);
  });

  it('its artifact alone recreates it: same fingerprint, same vectors', async () => {
    const e = await LocalEmbedder.create({ model: 'default_v1' });
    const bytes = e.artifact();
    const table = decodeLocalEmbed(bytes, 'artifact');
    assert.equal(table.meta.words, 50_000);
    assert.equal(table.meta.dimension, 100);
    const copy = await LocalEmbedder.create({ artifact: Uint8Array.from(bytes) });
    assert.equal(copy.manifest.fingerprint, e.manifest.fingerprint);
    assert.deepEqual(await copy.embed(['out-of-vocabulary zqxjkv words and common ones']), await e.embed(['out-of-vocabulary zqxjkv words and common ones']));
  });
});
