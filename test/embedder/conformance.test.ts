import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { LocalEmbedder, TransformersEmbedder, ValidationError, type Embedder } from '../../src/index.js';
import { writeTestModel } from '../helpers/onnx-model.js';
import { tmpDir } from '../helpers/tmp.js';

/** The one suite every embedder passes. */
const factories: [string, () => Promise<Embedder>][] = [
  ['local', () => LocalEmbedder.create()],
  ['transformers (generated ONNX model)', () => TransformersEmbedder.create({ model: modelDir })],
];
let modelDir = '';

describe('embedder conformance', () => {
  before(() => {
    modelDir = writeTestModel(path.join(tmpDir(), 'glove-onnx')).dir;
  });

  for (const [name, create] of factories) {
    describe(name, () => {
      let embedder: Embedder;
      before(async () => {
        embedder = await create();
      });

      it('describes itself: manifest fields, dimension', () => {
        const m = embedder.manifest;
        for (const field of ['provider', 'model', 'revision', 'fingerprint'] as const) assert.equal(typeof m[field], 'string', field);
        assert.match(m.fingerprint, /^[0-9a-f]{64}$/);
        assert.equal(m.dimension, embedder.dimension);
        assert.equal(typeof m.rehydratable, 'boolean');
        assert.ok(m.artifact === null || /^text_embedder\//.test(m.artifact));
      });

      it('returns one normalised Float32Array per text, deterministically, the same alone or batched', async () => {
        const texts = ['The quick brown fox jumps over the lazy dog.', 'Ünïcödé text, numbers 1234 and identifiers like qx-17.', 'short'];
        const batched = await embedder.embed(texts);
        assert.equal(batched.length, 3);
        for (const [i, v] of batched.entries()) {
          assert.ok(v instanceof Float32Array);
          assert.equal(v.length, embedder.dimension);
          const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
          assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
          const [alone] = await embedder.embed([texts[i]!]);
          assert.ok(alone!.every((x, j) => Math.abs(x - v[j]!) < 1e-6), 'batch and single agree');
        }
        const again = await embedder.embed(texts);
        assert.deepEqual(again, batched, 'deterministic');
        assert.notDeepEqual(batched[0], batched[1]);
        assert.deepEqual(await embedder.embed([]), []);
      });

      it('a second instance has the same fingerprint and vectors', async () => {
        const other = await create();
        assert.equal(other.manifest.fingerprint, embedder.manifest.fingerprint);
        assert.deepEqual(await other.embed(['same vectors']), await embedder.embed(['same vectors']));
      });

      it('refuses what it cannot embed with ValidationError', async () => {
        await assert.rejects(embedder.embed(['']), ValidationError);
        await assert.rejects(embedder.embed([42 as unknown as string]), ValidationError);
      });
    });
  }
});
