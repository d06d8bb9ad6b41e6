import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ConflictError, NotFoundError, ValidationError } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

describe('layers and branches', () => {
  it('shadowing and deletion across a chain of layers and two branches', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('kb');
    const l1 = await v.layers.commit({ resources: { 'urn:a': { v: 1 }, 'urn:b': { v: 1 } }, meta: { msg: 'first' } });
    const l2 = await v.layers.commit({ resources: { 'urn:a': { v: 2 } } });
    const l3 = await v.layers.commit({ resources: { 'urn:b': null, 'urn:c': { v: 3 } } });
    assert.deepEqual([l1.parent, l2.parent, l3.parent], [null, l1.id, l2.id]);
    assert.deepEqual(v.layers.resolve('urn:a'), { v: 2 }, 'the nearest layer shadows older ones');
    assert.equal(v.layers.resolve('urn:b'), null, 'null deletes');
    assert.deepEqual(v.layers.resolve('urn:b', { layer: l2.id }), { v: 1 }, 'older layers still see it');
    assert.equal(v.layers.resolve('urn:nope'), null);

    await v.branches.create('feature', l2.id);
    const f1 = await v.layers.commit({ branch: 'feature', resources: { 'urn:a': null, 'urn:d': { v: 'f' } } });
    assert.equal(v.layers.resolve('urn:a', { branch: 'feature' }), null);
    assert.deepEqual(v.layers.resolve('urn:a', { branch: 'main' }), { v: 2 }, 'branches do not see each other');
    assert.deepEqual(v.layers.resolve('urn:b', { branch: 'feature' }), { v: 1 });
    assert.equal(v.layers.resolve('urn:c', { branch: 'feature' }), null);
    assert.deepEqual(v.branches.list(), [{ name: 'feature', head: f1.id }, { name: 'main', head: l3.id }]);
    assert.deepEqual(v.layers.log('feature').map((l) => l.id), [f1.id, l2.id, l1.id]);
    assert.deepEqual(v.layers.log('main', { limit: 1 }).map((l) => l.id), [l3.id]);
    assert.deepEqual(v.layers.get(l1.id)!.meta, { msg: 'first' });
    assert.deepEqual(v.layers.get(l3.id)!.resources, { 'urn:b': null, 'urn:c': { v: 3 } });
    assert.deepEqual(v.layers.diff(l3.id, f1.id), [
      { iri: 'urn:a', before: { v: 2 }, after: null },
      { iri: 'urn:b', before: null, after: { v: 1 } },
      { iri: 'urn:c', before: { v: 3 }, after: undefined },
      { iri: 'urn:d', before: undefined, after: { v: 'f' } },
    ]);
    const view = v.layers.get(l2.id)!;
    view.resources['urn:a'] = { hacked: true };
    assert.deepEqual(v.layers.resolve('urn:a', { layer: l2.id }), { v: 2 }, 'callers get copies');
  });

  it('compare-and-set: a stale expectedHead raises ConflictError and changes nothing', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('kb');
    const l1 = await v.layers.commit({ resources: { 'urn:a': { v: 1 } }, expectedHead: null });
    await assert.rejects(v.layers.commit({ resources: { 'urn:a': { v: 2 } }, expectedHead: null }), (err: unknown) => err instanceof ConflictError && err.code === 'CONFLICT');
    await v.branches.create('b', l1.id);
    const l2 = await v.layers.commit({ resources: { 'urn:a': { v: 2 } }, expectedHead: l1.id });
    await assert.rejects(v.branches.update('b', l2.id, null), ConflictError);
    await v.branches.update('b', l2.id, l1.id);
    assert.equal(v.branches.get('b')!.head, l2.id);
    assert.equal(v.layers.log('main').length, 2);
    await assert.rejects(v.branches.create('b', null), (err: unknown) => err instanceof ConflictError && err.code === 'ALREADY_EXISTS');
    await assert.rejects(v.branches.create('c', 'L99'), NotFoundError);
    await assert.rejects(v.layers.commit({ branch: 'nope', resources: { x: null } }), NotFoundError);
    await assert.rejects(v.layers.commit({ resources: {} }), ValidationError);
    await assert.rejects(v.layers.commit({ resources: { '': { a: 1 } } }), ValidationError);
    await assert.rejects(v.layers.commit({ resources: { x: 'not an object' as never } }), ValidationError);
    await assert.rejects(v.branches.create('bad name!', null), ValidationError);
  });

  it('delete refuses a branch that is the only reference to its head, unless forced; compact() collects orphaned layers', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('kb');
    const l1 = await v.layers.commit({ resources: { 'urn:a': { v: 1 } } });
    await v.branches.create('shared', l1.id);
    await v.branches.delete('shared'); // main still reaches L1
    await v.branches.create('exp', l1.id);
    const e1 = await v.layers.commit({ branch: 'exp', resources: { 'urn:e': { v: 1 } } });
    const e2 = await v.layers.commit({ branch: 'exp', resources: { 'urn:e': { v: 2 } } });
    await assert.rejects(v.branches.delete('exp'), (err: unknown) => err instanceof ConflictError && /only reference/.test(err.message));
    assert.equal(v.branches.get('exp')!.head, e2.id);
    await v.branches.delete('exp', { force: true });
    assert.equal(v.branches.get('exp'), null);
    assert.ok(v.layers.get(e1.id), 'orphaned layers stay until compaction');
    const result = await db.compact();
    assert.equal(result.layersFreed, 2);
    assert.equal(v.layers.get(e1.id), null);
    assert.equal(v.layers.get(e2.id), null);
    assert.deepEqual(v.layers.resolve('urn:a'), { v: 1 });
    const next = await v.layers.commit({ resources: { 'urn:n': { v: 1 } } });
    assert.equal(next.id, 'L4', 'ids are never reused after collection');
    await db.close();
    const again = await open(dir);
    assert.equal(again.vault('kb').layers.get(e1.id), null);
    assert.equal(again.vault('kb').layers.get('L4')!.id, 'L4');
    await again.close();
  });

  it('resolve on a 1,000-layer chain examines only the layers that define the IRI', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('kb');
    for (let i = 0; i < 1000; i++) {
      const resources: Record<string, { i: number }> = { [`urn:layer-${i}`]: { i } };
      if (i === 3) resources['urn:old'] = { i };
      if (i % 250 === 0) resources['urn:sometimes'] = { i };
      await db.batch([{ op: 'layer.commit', vault: 'kb', resources }]);
    }
    assert.equal(v.layers.log('main').length, 1000);
    const started = performance.now();
    assert.equal(v.layers.resolve('urn:missing'), null);
    assert.equal(v.layers.touched, 0, 'a miss examines no layer');
    assert.deepEqual(v.layers.resolve('urn:old'), { i: 3 });
    assert.equal(v.layers.touched, 1, 'a hit deep in the chain examines one layer');
    assert.deepEqual(v.layers.resolve('urn:sometimes'), { i: 750 });
    assert.equal(v.layers.touched, 4);
    assert.deepEqual(v.layers.resolve('urn:sometimes', { layer: 'L500' }), { i: 250 });
    assert.deepEqual(v.layers.resolve('urn:layer-999'), { i: 999 });
    const perResolveMs = (performance.now() - started) / 5;
    assert.ok(Number.isFinite(perResolveMs));
  });

  it('commits with embed: true make current resources searchable and erase deleted ones', async () => {
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('kb');
    await v.layers.commit({ resources: { 'urn:volcano': { text: 'Volcanoes erupt with molten lava.' }, 'urn:bank': { text: 'The bank raised interest rates.' }, 'urn:nolabel': { size: 3 } }, embed: true });
    assert.equal((await v.search('lava eruption', { k: 1 }))[0]!.id, 'urn:volcano');
    assert.deepEqual((await v.search('lava eruption', { k: 1 }))[0]!.payload, { iri: 'urn:volcano', layer: 'L1' });
    assert.equal(v.has('urn:nolabel'), false);
    await v.layers.commit({ resources: { 'urn:volcano': null }, embed: true });
    assert.equal(v.has('urn:volcano'), false);
    await v.branches.create('side', 'L2');
    await v.layers.commit({ branch: 'side', resources: { 'urn:side': { text: 'Only on a side branch.' } }, embed: true });
    assert.equal(v.has('urn:side'), false, 'only main is indexed');
  });
});
