import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/index.js';
import { dbPath, vectors } from '../helpers/tmp.js';

describe('payload indexes', () => {
  it('give the same answers as a scan, stay exact through upserts, erases and compaction, and persist', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 8 });
    const v = await db.createVault('v');
    const vs = vectors(3000, 8, 4);
    await v.insertMany(vs.map((vector, i) => ({ id: `r${i}`, vector, payload: { bucket: i % 100, tag: i % 3 ? 'x' : 'y', nested: { n: i % 10 }, list: [i % 7, 'any'] } })));
    const filters = [
      { bucket: 7 },
      { bucket: { $lt: 10 } },
      { bucket: { $in: [1, 2, 3] }, tag: 'y' },
      { 'nested.n': { $gte: 8 } },
      { list: 3 },
      { $or: [{ bucket: 5 }, { bucket: 6 }] },
      { bucket: { $gt: 90 }, tag: { $ne: 'x' } },
      { bucket: '7' },
    ];
    const q = vectors(1, 8, 9)[0]!;
    const before = [];
    for (const filter of filters) before.push(await v.search(q, { k: 20, filter, exact: true }));
    await v.createIndex('bucket');
    await v.createIndex('nested.n');
    await v.createIndex('list');
    assert.deepEqual(v.indexes().map((i) => i.field), ['bucket', 'list', 'nested.n']);
    for (const [i, filter] of filters.entries()) assert.deepEqual(await v.search(q, { k: 20, filter, exact: true }), before[i], JSON.stringify(filter));
    for (const filter of filters) {
      const hits = await v.search(q, { k: 20, filter });
      assert.ok(hits.length > 0 || JSON.stringify(filter).includes('"7"'), JSON.stringify(filter));
    }

    await v.insert('r7', vs[7]!, { bucket: 55 }); // moves r7 out of bucket 7
    await v.erase('r107');
    const seven = async () => (await v.search(q, { k: 100, filter: { bucket: 7 } })).map((h) => h.id).sort();
    const expected = Array.from({ length: 30 }, (_, i) => `r${i * 100 + 7}`).filter((id) => id !== 'r7' && id !== 'r107').sort();
    assert.deepEqual(await seven(), expected);
    await db.compact();
    assert.deepEqual(await seven(), expected, 'compaction renumbers labels and rebuilds the indexes');
    await db.close();
    const again = await open(dir);
    const av = again.vault('v');
    assert.deepEqual(av.indexes().map((i) => i.field), ['bucket', 'list', 'nested.n']);
    assert.deepEqual((await av.search(q, { k: 100, filter: { bucket: 7 } })).map((h) => h.id).sort(), expected);
    assert.equal(await av.dropIndex('list'), true);
    assert.equal(await av.dropIndex('list'), false);
    await again.close();
  });
});

describe('the filter planner', () => {
  it('a broad filter whose matches all lie far from the query still finds the k nearest of them', async () => {
    // Half the records match, so the planner first filters the graph's nearest 2k/selectivity
    // records; here those are all non-matching, so it must fall back, and still be exact.
    const db = await open(undefined, { dimension: 8, metric: 'l2' });
    const v = await db.createVault('v');
    const near = vectors(2000, 8, 21);
    const far = vectors(2000, 8, 22).map((x) => x.map((c) => c + 100));
    await v.insertMany([...near.map((vector, i) => ({ id: `n${i}`, vector, payload: { side: 'near' } })), ...far.map((vector, i) => ({ id: `f${i}`, vector, payload: { side: 'far' } }))]);
    const q = vectors(1, 8, 23)[0]!;
    const check = async (label: string) => {
      for (const [filter, prefix] of [[{ side: 'far' }, 'f'], [{ side: 'near' }, 'n']] as const) {
        const hits = await v.search(q, { k: 10, filter });
        const exact = await v.search(q, { k: 10, filter, exact: true });
        assert.equal(hits.length, 10, `${label} ${prefix}`);
        assert.ok(hits.every((h) => h.id.startsWith(prefix)), `${label} ${prefix}`);
        assert.ok(hits.filter((h) => exact.some((e) => e.id === h.id)).length >= 9, `${label} ${prefix}: recall`);
      }
    };
    await check('without an index');
    await v.createIndex('side');
    await check('with an index');
    await db.close();
  });

  it('knows when payload indexes answer a filter exactly', async () => {
    const { answeredByIndexes, PayloadIndex } = await import('../../src/vault/payload-index.js');
    const indexes = new Map([['a', new PayloadIndex('a')], ['b', new PayloadIndex('b')]]);
    assert.equal(answeredByIndexes({ a: 1, b: { $gte: 2, $lt: 5 } }, indexes), true);
    assert.equal(answeredByIndexes({ $and: [{ a: { $in: [1, 2] } }, { b: 'x' }] }, indexes), true);
    assert.equal(answeredByIndexes({ a: 1, c: 2 }, indexes), false, 'c is not indexed');
    assert.equal(answeredByIndexes({ a: { $ne: 1 } }, indexes), false, '$ne is not answered by the index');
    assert.equal(answeredByIndexes({ $or: [{ a: 1 }, { b: 2 }] }, indexes), false);
  });
});
