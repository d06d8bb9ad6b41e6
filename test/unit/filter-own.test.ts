/**
 * Filters read a payload's own properties only (README "Filters"): names that Object.prototype
 * carries (constructor, toString, hasOwnProperty, valueOf, __proto__) match a record only if its
 * payload has that field itself, with or without a payload index. And a filter's shape is
 * limited: a deep or huge one is a ValidationError, never a RangeError.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ValidationError, type Filter } from '../../src/index.js';

const INHERITED = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'isPrototypeOf', '__defineGetter__'];

async function setup(indexed: boolean) {
  const db = await open(undefined, { dimension: 2 });
  const v = await db.createVault('v');
  await v.insert('plain', [1, 0], { a: { b: 1 }, tag: 'x' });
  await v.insert('none', [0, 1]);
  await v.insert('own', [1, 1], { constructor: 'mine', a: { toString: 'nested' } });
  if (indexed) for (const f of [...INHERITED, 'a.toString', 'a.constructor']) await v.createIndex(f);
  return { db, v };
}

const ids = (hits: { id: string }[]) => hits.map((h) => h.id).sort();

describe('filters read own properties only', () => {
  for (const indexed of [false, true]) {
    it(`inherited names match nothing${indexed ? ' (payload indexes on them)' : ''}`, async () => {
      const { db, v } = await setup(indexed);
      for (const name of INHERITED) {
        const expected = name === 'constructor' ? ['own'] : [];
        // JSON.parse makes "__proto__" an own key of the filter, as a filter read from a request would have.
        const exists = JSON.parse(`{"${name}": {"$exists": true}}`) as Filter;
        assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: exists })), expected, `${name} $exists`);
        const missing = JSON.parse(`{"${name}": {"$exists": false}}`) as Filter;
        assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: missing })), ['none', 'own', 'plain'].filter((x) => !expected.includes(x)), `${name} $exists false`);
        assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: JSON.parse(`{"${name}": {"$ne": "zzz"}, "tag": "x"}`) as Filter })), ['plain']);
      }
      assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: { 'a.toString': { $exists: true } } })), ['own']);
      assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: { 'a.constructor': { $exists: true } } })), []);
      assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: { 'a.b.constructor': { $exists: true } } })), []);
      assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: { constructor: 'mine' } })), ['own']);
      await db.close();
    });
  }

  it('a filter whose prototype was set (a __proto__ literal) is refused, not read as {}', async () => {
    const { db, v } = await setup(false);
    const literal = { __proto__: { $exists: true } } as unknown as Filter;
    await assert.rejects(v.search([1, 0], { filter: literal }), (err: unknown) => err instanceof ValidationError && err.field === 'filter');
    await db.close();
  });
});

describe('filter limits', () => {
  it('a 10,000-deep $or is a ValidationError, not a RangeError', async () => {
    const { db, v } = await setup(false);
    let deep: Filter = { tag: 'x' };
    for (let i = 0; i < 10_000; i++) deep = { $or: [deep] };
    await assert.rejects(v.search([1, 0], { filter: deep }), (err: unknown) => err instanceof ValidationError && /deeper/.test(err.message));
    let ok: Filter = { tag: 'x' };
    for (let i = 0; i < 10; i++) ok = { $or: [ok] };
    assert.deepEqual(ids(await v.search([1, 0], { k: 10, filter: ok })), ['plain']);
    await db.close();
  });

  it('a filter with more than 100,000 parts is a ValidationError', async () => {
    const { db, v } = await setup(false);
    const wide: Filter = { $or: Array.from({ length: 60_000 }, (_, i) => ({ tag: `t${i}` })) };
    await assert.rejects(v.search([1, 0], { filter: wide }), (err: unknown) => err instanceof ValidationError && /parts/.test(err.message));
    await db.close();
  });
});
