import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, QuotaExceededError, type Database, type Vault } from '../../src/index.js';
import { encode } from '../../src/format/codec.js';
import { dbPath } from '../helpers/tmp.js';

const DIM = 3;

/** What the vault's records weigh for maxBytes, from what reads return: id, vector, payload, text. */
function expectedBytes(v: Vault): number {
  let bytes = 0;
  for (const r of v.scan({ limit: 10_000 }).records) {
    bytes += Buffer.byteLength(r.id, 'utf8') + DIM * 4 + (r.payload ? encode(r.payload).byteLength : 0) + (r.document ? Buffer.byteLength(r.document.text, 'utf8') : 0);
  }
  return bytes;
}

function usage(db: Database): number {
  return db.stats().vaults[0]!.bytes;
}

/**
 * A record keeps its byte count once computed (record-store.ts), and erasing subtracts that
 * count: the vault's usage must stay what its live records weigh through inserts, upserts,
 * patches and erases, before and after a reopen (records read from a segment, whose payload is
 * a range of the segment's buffer), and the maxBytes quota must decide on it.
 */
describe('record byte counts', () => {
  it('usage equals the live records\' weight through upserts, patches, eraseWhere and reopen', async () => {
    const dir = dbPath();
    let db = await open(dir, { dimension: DIM });
    let v = await db.createVault('v');
    await v.createIndex('tag');
    const check = (step: string) => assert.equal(usage(db), expectedBytes(v), step);
    await v.insertMany(Array.from({ length: 40 }, (_, i) => ({ id: i % 7 === 0 ? `é${i}日本` : `r${i}`, vector: [i + 1, 1, 0], ...(i % 5 === 0 ? {} : { payload: { tag: `t${i % 4}`, note: 'ü'.repeat(i) } }) })));
    check('insertMany');
    await v.insertDocuments(Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, vector: [1, i + 1, 1], text: `ドキュメント ${'x'.repeat(i * 10)}`, payload: { tag: 't1' } })), { provider: 'test', model: 'm' });
    check('insertDocuments');
    await v.insertMany([{ id: 'r1', vector: [1, 2, 3], payload: { tag: 't2', note: 'much longer than before '.repeat(5) } }, { id: 'd2', vector: [3, 2, 1] }]);
    check('upserts (a document replaced by a plain record)');
    await v.patchWhere({ tag: 't3' }, { set: { 'meta.grown': 'y'.repeat(50) }, unset: ['note'] });
    check('patchWhere');
    assert.ok((await v.eraseWhere({ tag: 't1' })) > 0);
    check('eraseWhere');
    await v.erase('r2');
    check('erase');
    await db.close();

    db = await open(dir, { dimension: DIM });
    v = db.vault('v');
    check('reopen (replayed)');
    await db.checkpoint();
    await db.close();
    db = await open(dir, { dimension: DIM });
    v = db.vault('v');
    check('reopen from the checkpoint');
    assert.ok((await v.eraseWhere({ tag: { $in: ['t0', 't2'] } })) > 0);
    check('eraseWhere of records read from a segment');
    await v.patch('r3', { set: { tag: 't9' } });
    await v.eraseWhere({ tag: 't9' });
    check('patch then eraseWhere');

    // The quota decides on the same count: after `a` is erased, `b` and `c` fill it exactly.
    const size = (id: string, payload: object) => Buffer.byteLength(id) + DIM * 4 + encode(payload).byteLength;
    const b = { s: 'z'.repeat(40) };
    const c = { s: 'y'.repeat(20) };
    const q = await db.createVault('q', { quota: { maxBytes: size('b', b) + size('c', c) } });
    await q.insertMany([{ id: 'a', vector: [1, 1, 1], payload: { s: 'x'.repeat(60) } }]);
    await q.eraseWhere({ s: { $exists: true } });
    await q.insertMany([{ id: 'b', vector: [1, 1, 1], payload: b }, { id: 'c', vector: [1, 1, 1], payload: c }]);
    await assert.rejects(q.insertMany([{ id: 'd', vector: [1, 1, 1] }]), QuotaExceededError);
    await db.close();
  });
});
