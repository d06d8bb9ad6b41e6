import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ValidationError, type Hit } from '../../src/index.js';
import { seeded } from '../helpers/tmp.js';

const invalid = (field: string) => (err: unknown) => err instanceof ValidationError && err.field === field;

describe('search options: withVectors, minScore, maxDistance, mmr, groupBy', () => {
  it('withVectors puts the stored vector on each hit in every mode; minScore keeps the prefix above it', async () => {
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('docs');
    const words = ['river bank water', 'money bank loan', 'water flows down the river', 'loan interest rate', 'fish in the river'];
    await v.addDocuments(words.map((text, i) => ({ id: `d${i}`, text, payload: { i } })));
    for (const mode of ['vector', 'text', 'hybrid'] as const) {
      for (const filter of [undefined, { i: { $lt: 4 } }]) {
        const o = { mode, k: 3, ...(filter ? { filter } : {}) };
        const plain = await v.search('river water', o);
        const withVectors = await v.search('river water', { ...o, withVectors: true });
        assert.deepEqual(withVectors.map((h) => h.id), plain.map((h) => h.id));
        for (const h of withVectors) assert.deepEqual(h.vector, v.get(h.id)!.vector, `${mode} ${h.id}`);
        assert.ok(plain.every((h) => h.vector === undefined));
        const cut = plain[1]!.score;
        const above = await v.search('river water', { ...o, minScore: cut });
        assert.deepEqual(above.map((h) => h.id), plain.filter((h) => h.score >= cut).map((h) => h.id), mode);
        assert.ok(above.length < plain.length || plain.every((h) => h.score >= cut));
      }
    }
    await db.close();
  });

  it('l2: maxDistance instead of minScore', async () => {
    const db = await open(undefined, { dimension: 2, metric: 'l2' });
    const v = await db.createVault('v');
    await v.insertMany([0, 1, 2, 3, 4].map((x) => ({ id: `p${x}`, vector: [x, 0] })));
    const hits = await v.search([0, 0], { k: 5, maxDistance: 2.5 });
    assert.deepEqual(hits.map((h) => h.id), ['p0', 'p1', 'p2']);
    await assert.rejects(v.search([0, 0], { minScore: 1 }), invalid('minScore'));
    const cos = await open(undefined, { dimension: 2 });
    const c = await cos.createVault('v');
    await c.insertMany([0, 1, 2, 3].map((x) => ({ id: `a${x}`, vector: [Math.cos(x / 2), Math.sin(x / 2)] })));
    assert.deepEqual((await c.search([1, 0], { k: 4, maxDistance: 1 - Math.cos(0.75) })).map((h) => h.id), ['a0', 'a1']);
    await db.close();
    await cos.close();
  });

  it('mmr: near-duplicates are not all returned; lambda 1 is the plain ranking', async () => {
    const db = await open(undefined, { dimension: 4 });
    const v = await db.createVault('v');
    const dups = [0, 1, 2, 3, 4].map((j) => ({ id: `dup${j}`, vector: [1, 0.2 + 0.01 * j, 0, 0] }));
    const diverse = [[0.8, -0.3, 0.5, 0], [0.8, -0.3, 0, 0.5], [0.8, -0.3, -0.5, 0]].map((vector, j) => ({ id: `div${j}`, vector }));
    await v.insertMany([...dups, ...diverse]);
    const q = [1, 0, 0, 0];
    const plain = await v.search(q, { k: 3 });
    assert.deepEqual(plain.map((h) => h.id), ['dup0', 'dup1', 'dup2']);
    for (const mmr of [true, { lambda: 0.5 }, { lambda: 0.3, fetchK: 8 }] as const) {
      const hits = await v.search(q, { k: 3, mmr });
      assert.equal(hits[0]!.id, 'dup0', 'the most relevant comes first');
      assert.equal(hits.filter((h) => h.id.startsWith('dup')).length, 1, JSON.stringify(hits.map((h) => h.id)));
      assert.equal(hits[1]!.score, plain.length && (await v.search(q, { k: 8 })).find((h) => h.id === hits[1]!.id)!.score, 'hits keep their own score');
    }
    assert.deepEqual((await v.search(q, { k: 3, mmr: { lambda: 1 } })).map((h) => h.id), plain.map((h) => h.id));
    const filtered = await v.search(q, { k: 2, mmr: true, filter: { $not: { x: 1 } } });
    assert.equal(filtered.length, 2);
    await assert.rejects(v.search(q, { mmr: { lambda: 2 } }), invalid('mmr.lambda'));
    await assert.rejects(v.search(q, { k: 10, mmr: { fetchK: 5 } }), invalid('mmr.fetchK'));
    await assert.rejects(v.search(q, { mmr: 'yes' as never }), invalid('mmr'));
    await db.close();
  });

  it('groupBy: k distinct groups whenever they exist, each with its truly best hits', async () => {
    const db = await open(undefined, { dimension: 8 });
    const v = await db.createVault('v');
    const r = seeded(11);
    const q = Float32Array.from({ length: 8 }, () => 1);
    // 400 records of one group crowd the query; 12 small groups sit farther away.
    const records = [
      ...Array.from({ length: 400 }, (_, i) => ({ id: `big${i}`, vector: Float32Array.from({ length: 8 }, () => 1 + 0.05 * r()), payload: { g: 'big', nested: { g: 0 } } })),
      ...Array.from({ length: 120 }, (_, i) => ({ id: `s${i}`, vector: Float32Array.from({ length: 8 }, () => r()), payload: { g: `small${i % 12}`, nested: { g: (i % 12) + 1 } } })),
      { id: 'nokey', vector: Float32Array.from({ length: 8 }, () => 1), payload: { other: 1 } },
    ];
    await v.insertMany(records);
    const exactAll = await v.search(q, { k: records.length, exact: true });
    const expected = (keyOf: (h: Hit) => unknown, k: number, size: number) => {
      const groups = new Map<unknown, string[]>();
      for (const h of exactAll) {
        const key = keyOf(h);
        if (key === undefined) continue;
        if (!groups.has(key)) groups.set(key, []);
        if (groups.get(key)!.length < size) groups.get(key)!.push(h.id);
      }
      return [...groups].slice(0, k);
    };
    for (const [k, size] of [[5, 1], [6, 3], [13, 2], [20, 1]] as const) {
      const hits = await v.search(q, { k, groupBy: 'g', groupSize: size, exact: true });
      const got = new Map<unknown, string[]>();
      for (const h of hits) {
        if (!got.has(h.groupKey)) got.set(h.groupKey, []);
        got.get(h.groupKey)!.push(h.id);
      }
      assert.deepEqual([...got], expected((h) => h.payload?.g, k, size), `k=${k} size=${size}`);
      assert.equal(got.size, Math.min(k, 13));
    }
    // Numbers as keys, a nested path, and the graph (not exact) finding every group.
    const nested = await v.search(q, { k: 13, groupBy: 'nested.g' });
    assert.deepEqual([...new Set(nested.map((h) => h.groupKey))].sort(), Array.from({ length: 13 }, (_, i) => i).sort());
    const filtered = await v.search(q, { k: 3, groupBy: 'g', filter: { g: { $prefix: 'small' } }, exact: true });
    assert.deepEqual(filtered.map((h) => h.groupKey), expected((h) => ((h.payload?.g as string) ?? '').startsWith('small') ? h.payload!.g : undefined, 3, 1).map(([key]) => key));
    await assert.rejects(v.search(q, { groupBy: '' }), invalid('groupBy'));
    await assert.rejects(v.search(q, { groupBy: '$nope' }), invalid('groupBy'));
    await assert.rejects(v.search(q, { groupBy: 'g', groupSize: 0 }), invalid('groupSize'));
    await assert.rejects(v.search(q, { groupSize: 2 }), invalid('groupSize'));
    await assert.rejects(v.search(q, { groupBy: 'g', mmr: true }), invalid('mmr'));
    await db.close();
  });

  it("groupBy '$doc' groups chunks by their document, in text and hybrid mode too", async () => {
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('docs');
    const para = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `${topic} paragraph ${i}. ${topic} again and more ${topic}.`).join('\n\n');
    await v.addText('rivers', para('river water', 12), { size: 60, overlap: 0 });
    await v.addText('banks', para('bank loan', 12), { size: 60, overlap: 0 });
    await v.addText('mixed', para('river bank', 12), { size: 60, overlap: 0 });
    await v.addDocument({ id: 'loose', text: 'a river on its own' });
    for (const mode of ['vector', 'text', 'hybrid'] as const) {
      const hits = await v.search('river water', { mode, k: 4, groupBy: '$doc', groupSize: 2 });
      const keys = hits.map((h) => h.groupKey);
      // BM25 finds no 'banks' chunk (it has neither term): text mode has 3 groups to return.
      const groups = mode === 'text' ? ['rivers', 'mixed', 'loose'] : ['rivers', 'banks', 'mixed', 'loose'];
      assert.deepEqual(new Set(keys), new Set(groups), `${mode}: ${JSON.stringify(keys)}`);
      assert.equal(hits.length, mode === 'text' ? 5 : 7, 'loose has one chunk, the others two each');
      for (const h of hits) assert.equal(h.document!.chunk?.docId ?? h.id, h.groupKey);
    }
    await db.close();
  });
});
