import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ValidationError, type Filter } from '../../src/index.js';

const invalid = (field: string) => (err: unknown) => err instanceof ValidationError && err.field === field;

describe('filter operators $not, $all, $size, $prefix, $document', () => {
  it('match as documented, in count, scan, search and eraseWhere alike', async () => {
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('docs');
    await v.addDocuments([
      { id: 'a', text: 'Disk failure ERR_4411 on node seven', payload: { tags: ['ops', 'disk'], path: 'logs/2024/a', n: 1 } },
      { id: 'b', text: 'the network partition healed', payload: { tags: ['ops'], path: 'logs/2025/b', n: 2 } },
      { id: 'c', text: 'err_4411 lower case only', payload: { tags: ['disk', 'ops', 'hw'], path: 'notes/c', n: 3 } },
    ]);
    const dim = db.identity.dimension;
    await v.insert('plain', Float32Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0)), { tags: [], path: 'logs/p', n: 4 });
    const ids = (filter: Filter) => v.scan({ filter, limit: 100 }).records.map((r) => r.id);
    assert.deepEqual(ids({ tags: { $all: ['ops', 'disk'] } }), ['a', 'c']);
    assert.deepEqual(ids({ tags: { $size: 1 } }), ['b']);
    assert.deepEqual(ids({ tags: { $size: 0 } }), ['plain']);
    assert.deepEqual(ids({ path: { $prefix: 'logs/' } }), ['a', 'b', 'plain']);
    assert.deepEqual(ids({ tags: { $prefix: 'h' } }), ['c'], 'an array matches when an element does');
    assert.deepEqual(ids({ $not: { path: { $prefix: 'logs/' } } }), ['c']);
    assert.deepEqual(ids({ $not: { $or: [{ n: 1 }, { n: 2 }] } }), ['c', 'plain']);
    assert.deepEqual(ids({ $document: { $contains: 'ERR_4411' } }), ['a'], '$contains is case-sensitive');
    assert.deepEqual(ids({ $document: { $match: 'err_4411' } }), ['a', 'c'], '$match uses the text index terms');
    assert.deepEqual(ids({ $document: { $match: 'disk node' } }), ['a'], 'every term');
    assert.deepEqual(ids({ $not: { $document: { $contains: 'ERR' } } }), ['b', 'c', 'plain'], 'a record without a document never matches $document');
    assert.deepEqual(ids({ $and: [{ $document: { $match: 'err_4411' } }, { tags: { $size: 3 } }] }), ['c']);
    assert.equal(v.count({ $document: { $match: 'partition' } }), 1);
    const hits = await v.search('disk failure', { k: 5, filter: { $document: { $match: 'err_4411' } } });
    assert.deepEqual(hits.map((h) => h.id).sort(), ['a', 'c']);
    const text = await v.search('err_4411', { mode: 'text', k: 5, filter: { $document: { $contains: 'ERR' } } });
    assert.deepEqual(text.map((h) => h.id), ['a']);
    assert.equal(await v.eraseWhere({ $document: { $contains: 'healed' } }), 1);
    assert.equal(v.has('b'), false);
    await db.close();
  });

  it('bad operands and unknown operators are ValidationErrors naming them', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('v');
    const bad: [Filter, string][] = [
      [{ t: { $all: [] } }, 'filter.t.$all'],
      [{ t: { $all: 'x' } }, 'filter.t.$all'],
      [{ t: { $size: -1 } }, 'filter.t.$size'],
      [{ t: { $size: 1.5 } }, 'filter.t.$size'],
      [{ t: { $prefix: 3 } }, 'filter.t.$prefix'],
      [{ $not: 'x' }, 'filter.$not'],
      [{ $not: { t: { $nope: 1 } } }, 'filter.$not.t.$nope'],
      [{ $document: 'x' }, 'filter.$document'],
      [{ $document: { $regex: 'x' } }, 'filter.$document.$regex'],
      [{ $document: { $contains: '' } }, 'filter.$document.$contains'],
      [{ $document: { $match: 'the of' } }, 'filter.$document.$match'],
      [{ $document: { $contains: 'a', $match: 'b' } }, 'filter.$document'],
      [{ $nor: [] }, 'filter.$nor'],
      [{ t: { $regex: 'x' } }, 'filter.t.$regex'],
    ];
    for (const [filter, field] of bad) {
      assert.throws(() => v.count(filter), invalid(field), JSON.stringify(filter));
      await assert.rejects(v.search([1, 0], { filter }), invalid(field), JSON.stringify(filter));
      await assert.rejects(v.eraseWhere(filter), invalid(field), JSON.stringify(filter));
    }
    await db.close();
  });
});
