import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/index.js';
import { compileFilter } from '../../src/vault/filter.js';
import { vectors } from '../helpers/tmp.js';

describe('filters', () => {
  const p = { tag: 'x', n: 5, s: 'b', list: ['red', 'blue'], nested: { k: 1 }, nil: null };
  const cases: [object, boolean][] = [
    [{ tag: 'x' }, true],
    [{ tag: 'y' }, false],
    [{ list: 'red' }, true],
    [{ 'nested.k': 1 }, true],
    [{ 'nested.k': 2 }, false],
    [{ nil: null }, true],
    [{ n: { $gt: 4 } }, true],
    [{ n: { $gt: 5 } }, false],
    [{ n: { $gte: 5, $lte: 5 } }, true],
    [{ n: { $lt: 5 } }, false],
    [{ s: { $gt: 'a' } }, true],
    [{ n: { $gt: '4' } }, false],
    [{ tag: { $in: ['x', 'z'] } }, true],
    [{ list: { $in: ['green', 'blue'] } }, true],
    [{ tag: { $nin: ['x'] } }, false],
    [{ missing: { $nin: ['x'] } }, true],
    [{ tag: { $ne: 'y' } }, true],
    [{ missing: { $ne: 'y' } }, true],
    [{ missing: { $exists: false } }, true],
    [{ tag: { $exists: true } }, true],
    [{ $or: [{ tag: 'y' }, { n: 5 }] }, true],
    [{ $and: [{ tag: 'x' }, { n: 6 }] }, false],
    [{ $or: [{ $and: [{ tag: 'x' }, { s: 'b' }] }, { n: 0 }] }, true],
  ];
  for (const [filter, expected] of cases) {
    it(`${JSON.stringify(filter)} -> ${expected}`, () => assert.equal(compileFilter(filter)(p), expected));
  }
  it('a record without payload matches only absence tests', () => {
    assert.equal(compileFilter({ tag: 'x' })(null), false);
    assert.equal(compileFilter({ tag: { $exists: false } })(null), true);
  });
});

describe('search', () => {
  it('returns best first with id, score, distance, payload; erased records never appear', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insert('east', [1, 0], { dir: 'e' });
    await v.insert('north', [0, 1], { dir: 'n' });
    await v.insert('ne', [1, 1]);
    const hits = await v.search([1, 0.1], { k: 3 });
    assert.deepEqual(hits.map((h) => h.id), ['east', 'ne', 'north']);
    assert.ok(Math.abs(hits[0]!.score - 1 / Math.sqrt(1.01)) < 1e-6);
    assert.deepEqual(hits[0]!.payload, { dir: 'e' });
    hits[0]!.payload!.dir = 'mutated';
    assert.deepEqual(v.get('east')!.payload, { dir: 'e' }, 'callers get copies');
    await v.erase('east');
    assert.deepEqual((await v.search([1, 0.1], { k: 3 })).map((h) => h.id), ['ne', 'north']);
    assert.deepEqual((await v.search([1, 0.1], { k: 3, exact: true })).map((h) => h.id), ['ne', 'north']);
    await db.close();
  });

  it('hits carry deep copies: changing one, nested values and bytes included, changes nothing stored', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insert('a', [1, 0], { tags: ['x', 'y'], nested: { n: 1, deep: [{ z: true }] }, bin: new Uint8Array([1, 2, 3]) });
    for (let round = 0; round < 2; round++) {
      const [hit] = await v.search([1, 0], { k: 1, filter: { 'nested.n': 1 } });
      assert.deepEqual(hit!.payload, { tags: ['x', 'y'], nested: { n: 1, deep: [{ z: true }] }, bin: Buffer.from([1, 2, 3]) });
      const p = hit!.payload as { tags: string[]; nested: { n: number; deep: { z: boolean }[] }; bin: Uint8Array };
      p.tags.push('mutated');
      p.nested.n = 2;
      p.nested.deep[0]!.z = false;
      p.bin[0] = 99;
    }
    assert.deepEqual(v.get('a')!.payload, { tags: ['x', 'y'], nested: { n: 1, deep: [{ z: true }] }, bin: Buffer.from([1, 2, 3]) });
    await db.close();
  });

  it('l2 reports Euclidean distance and ip the dot product', async () => {
    const l2 = await open(undefined, { dimension: 2, metric: 'l2' });
    const a = await l2.createVault('v');
    await a.insert('p', [3, 4]);
    assert.ok(Math.abs((await a.search([0, 0]))[0]!.score - 5) < 1e-6);
    const ip = await open(undefined, { dimension: 2, metric: 'ip' });
    const b = await ip.createVault('v');
    await b.insert('p', [3, 4]);
    assert.ok(Math.abs((await b.search([1, 2]))[0]!.score - 11) < 1e-5);
  });

  it('a filtered search returns k results whenever k records match, however selective', async () => {
    const db = await open(undefined, { dimension: 8 });
    const v = await db.createVault('v');
    const vs = vectors(5000, 8, 3);
    await v.insertMany(vs.map((vector, i) => ({ id: `r${i}`, vector, payload: { bucket: i % 100, big: i % 2 } })));
    const q = vectors(1, 8, 4)[0]!;
    for (const filter of [{ bucket: 7 }, { bucket: { $in: [1, 2, 3] } }, { big: 1 }, { bucket: { $lt: 90 } }]) {
      const hits = await v.search(q, { k: 25, filter, ef: 10 });
      assert.equal(hits.length, 25, JSON.stringify(filter));
      const exact = await v.search(q, { k: 25, filter, exact: true });
      const overlap = hits.filter((h) => exact.some((e) => e.id === h.id)).length;
      assert.ok(overlap >= 20, `recall for ${JSON.stringify(filter)}: ${overlap}/25`);
      assert.ok(hits.every((h) => compileFilter(filter)(h.payload)));
    }
    const few = await v.search(q, { k: 100, filter: { bucket: 99 } });
    assert.equal(few.length, 50);
    const none = await v.search(q, { k: 5, filter: { bucket: 1000 } });
    assert.equal(none.length, 0);
  });

  it('HNSW recall against exact search on clustered data is high', async () => {
    const db = await open(undefined, { dimension: 32 });
    const v = await db.createVault('v');
    const vs = vectors(3000, 32, 11);
    await v.insertMany(vs.map((vector, i) => ({ id: String(i), vector })));
    let found = 0;
    for (const q of vectors(20, 32, 12)) {
      const approx = new Set((await v.search(q, { k: 10 })).map((h) => h.id));
      for (const h of await v.search(q, { k: 10, exact: true })) if (approx.has(h.id)) found++;
    }
    assert.ok(found / 200 >= 0.9, `recall ${found / 200}`);
  });

  it('the graph grows past its initial capacity and reuses erased slots', async () => {
    const db = await open(undefined, { dimension: 4 });
    const v = await db.createVault('v');
    const vs = vectors(2500, 4, 5);
    await v.insertMany(vs.map((vector, i) => ({ id: String(i), vector })));
    for (let i = 0; i < 1000; i++) await v.erase(String(i));
    await db.settle();
    await v.insertMany(vs.slice(0, 1000).map((vector, i) => ({ id: `again-${i}`, vector })));
    await db.settle();
    const stats = db.stats().vaults[0]!;
    assert.equal(stats.records, 2500);
    assert.equal((stats.index as { elements?: number }).elements, 2500, 'erased slots were reused');
    assert.equal((await v.search(vs[0]!, { k: 1 }))[0]!.id, 'again-0');
  });
});
