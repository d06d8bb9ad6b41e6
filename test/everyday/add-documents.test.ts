import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ValidationError, type Database, type Vault } from '../../src/index.js';
import { dbPath, fingerprint } from '../helpers/tmp.js';

const invalid = (field: string) => (err: unknown) => err instanceof ValidationError && err.code === 'INVALID_ARGUMENT' && err.field === field;

/** A database with the built-in embedder and three documents a0..a2. */
async function seeded(dir: string): Promise<{ db: Database; v: Vault }> {
  const db = await open(dir, { embedder: 'local' });
  const v = await db.createVault('docs');
  await v.addDocuments(['rivers carve valleys', 'volcanoes erupt lava', 'banks lend money'].map((text, i) => ({ id: `a${i}`, text })));
  return { db, v };
}

describe('addDocuments(docs, { erase })', () => {
  it('writes the documents and erases the named records in one log record; absent ids are no change', async () => {
    const dir = dbPath();
    const { db, v } = await seeded(dir);
    await v.addDocuments([{ id: 'a0', text: 'rivers meet the sea' }, { id: 'b0', text: 'glaciers move slowly' }], { erase: ['a1', 'a2', 'a1', 'never-was'] });
    assert.deepEqual(v.ids(), ['a0', 'b0']);
    assert.equal(v.get('a0')!.document!.text, 'rivers meet the sea');
    await db.close();
    const reader = await open(dir, { readOnly: true });
    assert.deepEqual(reader.vault('docs').ids(), ['a0', 'b0']);
    assert.equal(reader.stats().recovery!.replayedRecords, 3, 'vault create, the first batch, then one batch for both writes and erasures');
    await reader.close();
  });

  it('a bad document, a bad erase id or an id both written and erased changes nothing', async () => {
    const dir = dbPath();
    const { db } = await seeded(dir);
    await db.close();
    const before = fingerprint(dir);
    const db2 = await open(dir, { embedder: 'local' });
    const w = db2.vault('docs');
    const good = { id: 'b0', text: 'glaciers move slowly' };
    await assert.rejects(w.addDocuments([good, { id: 'b1', text: '' }], { erase: ['a0'] }), invalid('docs[1].text'));
    await assert.rejects(w.addDocuments([good, { id: '', text: 'x' }], { erase: ['a0'] }), invalid('docs[1].id'));
    await assert.rejects(w.addDocuments([good], { erase: ['a0', ''] }), invalid('options.erase[1]'));
    await assert.rejects(w.addDocuments([good], { erase: ['a0', 7 as unknown as string] }), invalid('options.erase[1]'));
    await assert.rejects(w.addDocuments([good], { erase: 'a0' as unknown as string[] }), invalid('options.erase'));
    await assert.rejects(w.addDocuments([good], { erase: ['a0', 'b0'] }), (e: unknown) => invalid('options.erase[1]')(e) && /also a document of this batch/.test((e as Error).message));
    await assert.rejects(w.addDocuments([good], { erase: ['a0'], eras: ['a1'] } as never), invalid('eras'));
    await assert.rejects(w.addDocuments([good], null as never), invalid('options'));
    assert.deepEqual(w.ids(), ['a0', 'a1', 'a2']);
    await db2.close();
    assert.deepEqual(fingerprint(dir), before, 'nothing reached the log');
  });
});
