import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, checkDatabase, ConfigError, ValidationError, type Embedder } from '../../src/index.js';
import { writeTestModel } from '../helpers/onnx-model.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';
import { decodeEmbedderManifest } from '../../src/embedder/manifest-file.js';

let model = '';
before(() => {
  model = writeTestModel(path.join(tmpDir(), 'minilm'), 2000).dir;
});

// Decoded as the database decodes it: the file's header holds a CRC, whose bytes can be a '{'.
const manifestOf = (dir: string) => decodeEmbedderManifest(fs.readFileSync(path.join(dir, 'TEXT_EMBEDDER.manifest'))) as unknown as Record<string, unknown>;

describe('transformers embedder identity', () => {
  it('is its fingerprint: the same model from another folder (another name too) is not drift', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: { transformers: model } });
    await (await db.createVault('v')).addDocument({ id: 'a', text: 'the city by the water' });
    await db.close();
    assert.equal(manifestOf(dir).model, 'minilm', 'the folder name, not its absolute path');
    const moved = path.join(tmpDir(), 'elsewhere', 'renamed-model');
    fs.cpSync(model, moved, { recursive: true });
    const again = await open(dir, { embedder: { transformers: moved } });
    assert.equal((await again.vault('v').search('water city', { k: 1 }))[0]!.id, 'a');
    await again.close();
  });

  it('without the model present the database opens; vector search, stats, check, export and backup work; only text needs the model', async () => {
    const own = writeTestModel(path.join(tmpDir(), 'gone'), 2000).dir;
    const dir = dbPath();
    const db = await open(dir, { embedder: { transformers: own } });
    const v = await db.createVault('v');
    await v.addDocument({ id: 'a', text: 'the city by the water' });
    const vector = v.get('a')!.vector;
    await db.checkpoint();
    await db.close();
    fs.rmSync(own, { recursive: true });

    const reopened = await open(dir);
    assert.equal((await reopened.vault('v').search(vector, { k: 1 }))[0]!.id, 'a');
    assert.equal(reopened.stats().embedder!.provider, 'transformers');
    await reopened.export(path.join(tmpDir(), 'export'));
    await reopened.backup(path.join(tmpDir(), 'backup'));
    await assert.rejects(reopened.vault('v').search('water', { k: 1 }), (err: unknown) => err instanceof ConfigError && err.field === 'embedder' && /not available.*model folder .*gone is not there/.test(err.message));
    await reopened.close();
    assert.equal((await checkDatabase(dir)).ok, true);
    const reader = await open(dir, { readOnly: true });
    assert.equal(reader.vault('v').get('a')!.document!.text, 'the city by the water');
    await reader.close();
  });

  it('a custom Embedder with an incomplete manifest, or one disagreeing with its dimension, is refused at creation and nothing is written', async () => {
    const make = (manifest: Record<string, unknown>, dimension = 3): Embedder => ({ dimension, manifest: manifest as never, embed: async (t) => t.map(() => new Float32Array(dimension).fill(1)) });
    const good = { provider: 'mine', model: 'm', revision: '1', dimension: 3, fingerprint: 'f1', rehydratable: false, artifact: null };
    const cases: [string, Embedder, RegExp][] = [
      ['no fingerprint', make({ ...good, fingerprint: undefined }), /manifest\.fingerprint/],
      ['no rehydratable', make({ ...good, rehydratable: undefined }), /manifest\.rehydratable/],
      ['dimension disagrees', make(good, 4), /dimension 4 disagrees with manifest\.dimension 3/],
      ['artifact outside text_embedder/', make({ ...good, artifact: '../x' }), /manifest\.artifact/],
      ['artifact without artifact()', make({ ...good, artifact: 'text_embedder/x.bin' }), /no artifact\(\)/],
    ];
    for (const [what, embedder, message] of cases) {
      const dir = dbPath();
      await assert.rejects(open(dir, { embedder }), (err: unknown) => err instanceof ConfigError && err.field === 'embedder' && message.test(err.message), what);
      assert.equal(fs.existsSync(path.join(dir, 'TEXT_EMBEDDER.manifest')), false, what);
      assert.equal(fs.existsSync(path.join(dir, 'IDENTITY')), false, what);
    }
    const db = await open(dbPath(), { embedder: make(good) });
    await db.close();
  });

  it('a text the model maps to zero vectors is refused with ValidationError, never embedded as NaN', async () => {
    const db = await open(undefined, { embedder: { transformers: model } });
    const v = await db.createVault('v');
    await assert.rejects(v.addDocument({ id: 'x', text: 'zqxjkv qqqzzz' }), (err: unknown) => err instanceof ValidationError && /zero vector/.test(err.message));
    assert.equal(v.has('x'), false);
    await db.close();
  });

  it('without @huggingface/transformers installed: a transformers embedder says what to install; its databases still open', () => {
    const dir = dbPath();
    return (async () => {
      await (await open(dir, { embedder: { transformers: model } })).close();
      const hide = fileURLToPath(new URL('../helpers/hide-package-esm.mjs', import.meta.url));
      const index = JSON.stringify(fileURLToPath(new URL('../../src/index.ts', import.meta.url)));
      const script = `import { open } from ${index};
const out = {};
try { await open(undefined, { embedder: { transformers: process.argv[2] } }); out.created = true; } catch (e) { out.error = { name: e.name, field: e.field, message: e.message }; }
const db = await open(process.argv[1]);
out.dimension = db.identity.dimension;
try { await db.embedder.embed(['x']); } catch (e) { out.embed = e.message; }
await db.close();
console.log(JSON.stringify(out));`;
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', hide, '--input-type=module', '-e', script, dir, model], {
        encoding: 'utf8',
        env: { ...process.env, QUIVER_HIDE_PACKAGE: '@huggingface/transformers' },
      });
      const r = JSON.parse(out) as { created?: boolean; error?: { name: string; field: string; message: string }; dimension: number; embed: string };
      assert.deepEqual(r.error, { name: 'ConfigError', field: 'embedder', message: 'transformers embedders need the optional peer dependency @huggingface/transformers: run npm install @huggingface/transformers' });
      assert.equal(r.dimension, 100);
      assert.match(r.embed, /not available: transformers embedders need the optional peer dependency/);
    })();
  });
});
