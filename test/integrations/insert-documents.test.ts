import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError, open } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

test('insertDocuments: outside vectors stored with text, chunk and the named embedder as lineage, all or nothing, through a reopen', async () => {
  const path = dbPath();
  const db = await open(path, { dimension: 3 });
  const v = await db.createVault('docs');
  await v.insertDocuments(
    [
      { id: 'a#0', text: 'first chunk', vector: [1, 0, 0], payload: { k: 1 }, chunk: { docId: 'a', index: 0, start: 0, end: 11 } },
      { id: 'b', text: 'second', vector: Float32Array.from([0, 1, 0]) },
    ],
    { provider: 'langchain', model: 'MyEmbeddings', revision: '2' },
  );
  // A bad document anywhere refuses the whole call.
  await assert.rejects(v.insertDocuments([{ id: 'c', text: 'ok', vector: [0, 0, 1] }, { id: 'd', text: '', vector: [0, 0, 1] }], { provider: 'x', model: 'y' }), (e: unknown) => e instanceof ValidationError && e.field === 'docs[1].text');
  await assert.rejects(v.insertDocuments([{ id: 'c', text: 'ok', vector: [0, 0, 1, 0] }], { provider: 'x', model: 'y' }), ValidationError);
  await assert.rejects(v.insertDocuments([{ id: 'c', text: 'ok', vector: [0, 0, 1] }], {} as never), (e: unknown) => e instanceof ValidationError && e.field === 'source');
  assert.equal(v.count(), 2);
  await db.close();

  const again = await open(path);
  const a = again.vault('docs').get('a#0')!;
  assert.deepEqual(a.document!.chunk, { docId: 'a', index: 0, start: 0, end: 11 });
  assert.equal(a.document!.text, 'first chunk');
  assert.deepEqual({ ...a.document!.lineage, at: '' }, { provider: 'langchain', model: 'MyEmbeddings', revision: '2', fingerprint: '', at: '' });
  assert.deepEqual(a.payload, { k: 1 });
  const [hit] = await again.vault('docs').search('second', { mode: 'text', k: 1 });
  assert.equal(hit!.id, 'b');
  await again.close();
});
