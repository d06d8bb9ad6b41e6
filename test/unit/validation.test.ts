import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ValidationError, NotFoundError, ConflictError, QuotaExceededError } from '../../src/index.js';
import { dbPath, fingerprint } from '../helpers/tmp.js';
import { dump } from '../helpers/state.js';

describe('bad input raises a typed error and changes nothing', () => {
  it('vectors, ids, payloads, vault names, unknown vaults, options', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 3, maxPayloadBytes: 1024 });
    const v = await db.createVault('v');
    await v.insert('keep', [1, 2, 3], { a: 1 });
    await db.checkpoint();
    const files = fingerprint(dir);
    const state = dump(db);
    const lsn = db.stats().lastLsn;

    const invalid = (field: string) => (err: unknown) => err instanceof ValidationError && err.code === 'INVALID_ARGUMENT' && err.field === field;
    await assert.rejects(v.insert('a', [1, 2]), invalid('vector'));
    await assert.rejects(v.insert('a', [1, 2, 3, 4]), invalid('vector'));
    await assert.rejects(v.insert('a', [1, NaN, 3]), invalid('vector[1]'));
    await assert.rejects(v.insert('a', [1, 2, Infinity]), invalid('vector[2]'));
    await assert.rejects(v.insert('a', [1e39, 2, 3]), invalid('vector[0]'));
    await assert.rejects(v.insert('a', [1, '2', 3] as unknown as number[]), invalid('vector[1]'));
    await assert.rejects(v.insert('a', 'nope' as unknown as number[]), invalid('vector'));
    await assert.rejects(v.insert('a', [0, 0, 0]), invalid('vector'));
    await assert.rejects(v.insert('', [1, 2, 3]), invalid('id'));
    await assert.rejects(v.insert('x'.repeat(257), [1, 2, 3]), invalid('id'));
    await assert.rejects(v.insert('é'.repeat(129), [1, 2, 3]), invalid('id'));
    await assert.rejects(v.insert(42 as unknown as string, [1, 2, 3]), invalid('id'));
    await assert.rejects(v.insert('a', [1, 2, 3], { big: 'x'.repeat(2000) }), invalid('payload'));
    await assert.rejects(v.insert('a', [1, 2, 3], [1, 2] as unknown as object as never), invalid('payload'));
    await assert.rejects(v.insert('a', [1, 2, 3], { when: new Date() } as never), invalid('payload.when'));
    await assert.rejects(v.insert('a', [1, 2, 3], { f: undefined } as never), invalid('payload.f'));
    await assert.rejects(v.insert('a', [1, 2, 3], { n: NaN }), invalid('payload.n'));
    await assert.rejects(v.insertMany([{ id: 'ok', vector: [1, 2, 3] }, { id: 'bad', vector: [1, 2] }]), invalid('records[1].vector'));
    await assert.rejects(db.createVault('Bad Name'), invalid('name'));
    await assert.rejects(db.createVault('-leading'), invalid('name'));
    await assert.rejects(db.createVault('x'.repeat(65)), invalid('name'));
    await assert.rejects(db.createVault('q', { quota: { maxRecords: -1 } }), invalid('quota.maxRecords'));
    await assert.rejects(db.createVault('q', { quota: { maxRows: 1 } as never }), invalid('quota.maxRows'));
    await assert.rejects(db.createVault('v'), (err: unknown) => err instanceof ConflictError && err.code === 'ALREADY_EXISTS');
    assert.throws(() => db.vault('missing'), (err: unknown) => err instanceof NotFoundError && err.code === 'NOT_FOUND');
    await assert.rejects(db.dropVault('missing'), NotFoundError);
    await assert.rejects(db.batch([{ op: 'insert', vault: 'v', id: 'b1', vector: [1, 1, 1] }, { op: 'insert', vault: 'missing', id: 'b2', vector: [1, 1, 1] }]), NotFoundError);
    await assert.rejects(db.batch([{ op: 'insert', vault: 'v', id: 'b1', vector: [1, 1, 1] }, { op: 'upsert', vault: 'v', id: 'b2' } as never]), invalid('ops[1].op'));
    await assert.rejects(v.search([1, 2]), invalid('query'));
    await assert.rejects(v.search([1, 2, 3], { k: 0 }), invalid('k'));
    await assert.rejects(v.search([1, 2, 3], { filter: { a: { $regex: 'x' } } }), invalid('filter.a.$regex'));
    await assert.rejects(v.search([1, 2, 3], { filter: { $nor: [] } }), invalid('filter.$nor'));
    assert.equal(await v.erase('never-existed'), false);

    assert.deepEqual(dump(db), state);
    assert.equal(db.stats().lastLsn, lsn, 'no operation was logged');
    await db.close();
    assert.deepEqual(fingerprint(dir), files, 'no file changed');
  });
});

describe('quotas', () => {
  it('maxRecords and maxBytes refuse the write that would exceed them and change nothing', async () => {
    const db = await open(dbPath(), { dimension: 2 });
    const v = await db.createVault('q', { quota: { maxRecords: 3, maxBytes: 1000 } });
    await v.insertMany([{ id: 'a', vector: [1, 0] }, { id: 'b', vector: [0, 1] }, { id: 'c', vector: [1, 1] }]);
    await assert.rejects(v.insert('d', [1, 2]), (err: unknown) => err instanceof QuotaExceededError && err.code === 'QUOTA_EXCEEDED' && err.quota === 'maxRecords' && err.limit === 3 && err.wouldBe === 4);
    await v.insert('a', [2, 0], { replaced: true }); // an upsert does not add a record
    await assert.rejects(v.insertMany([{ id: 'd', vector: [1, 2] }, { id: 'e', vector: [1, 2] }]), QuotaExceededError);
    await db.batch([{ op: 'erase', vault: 'q', id: 'a' }, { op: 'insert', vault: 'q', id: 'd', vector: [1, 2] }]); // net zero
    assert.deepEqual(v.ids(), ['b', 'c', 'd']);
    await assert.rejects(v.insert('b', [1, 1], { blob: 'x'.repeat(990) }), (err: unknown) => err instanceof QuotaExceededError && err.quota === 'maxBytes');
    const stats = db.stats().vaults[0]!;
    assert.equal(stats.records, 3);
    assert.equal(stats.usage.records, 1);
    assert.equal(stats.bytes, 3 * (1 + 8));
    await db.close();
  });
});

describe('batch', () => {
  it('applies across vaults all or nothing, and survives reopen as one record', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const a = await db.createVault('a');
    const b = await db.createVault('b', { quota: { maxRecords: 1 } });
    await db.batch([
      { op: 'insert', vault: 'a', id: '1', vector: [1, 0] },
      { op: 'insert', vault: 'b', id: '1', vector: [0, 1] },
    ]);
    const before = dump(db);
    await assert.rejects(
      db.batch([
        { op: 'insert', vault: 'a', id: '2', vector: [1, 0] },
        { op: 'erase', vault: 'a', id: '1' },
        { op: 'insert', vault: 'b', id: '2', vector: [0, 1] },
      ]),
      QuotaExceededError,
    );
    assert.deepEqual(dump(db), before);
    await db.batch([{ op: 'erase', vault: 'b', id: '1' }, { op: 'insert', vault: 'b', id: '2', vector: [0, 1] }, { op: 'insert', vault: 'a', id: '3', vector: [1, 1] }]);
    const after = dump(db);
    assert.deepEqual(a.ids(), ['1', '3']);
    assert.deepEqual(b.ids(), ['2']);
    await db.close();
    const again = await open(dir);
    assert.deepEqual(dump(again), after);
    assert.equal(again.stats().recovery!.replayedRecords, 4);
    await again.close();
  });
});
