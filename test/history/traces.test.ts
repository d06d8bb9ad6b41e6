import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ValidationError } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

const DAY = 86_400_000;

describe('traces', () => {
  it('put, get, list in time order with prefix, since, until, limit and reverse; delete; count; links', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('runs');
    await v.traces.put('job/b', { status: 'ok' }, { at: 2000, links: { records: ['r1'], layers: ['L1'] } });
    await v.traces.put('job/a', { status: 'ok' }, { at: 2000 });
    await v.traces.put('other/x', { n: 1 }, { at: new Date(1000) });
    await v.traces.put('job/c', 'a string trace', { at: 3000 });
    assert.deepEqual(v.traces.list().map((t) => t.key), ['other/x', 'job/a', 'job/b', 'job/c']);
    assert.deepEqual(v.traces.list({ prefix: 'job/' }).map((t) => t.key), ['job/a', 'job/b', 'job/c']);
    assert.deepEqual(v.traces.list({ since: 2000, until: 3000 }).map((t) => t.key), ['job/a', 'job/b']);
    assert.deepEqual(v.traces.list({ reverse: true, limit: 2 }).map((t) => t.key), ['job/c', 'job/b']);
    const got = v.traces.get('job/b')!;
    assert.deepEqual([got.trace, got.links, got.at.getTime()], [{ status: 'ok' }, { records: ['r1'], layers: ['L1'] }, 2000]);
    assert.equal(v.traces.get('job/c')!.trace, 'a string trace');
    assert.equal(await v.traces.delete('job/a'), true);
    assert.equal(await v.traces.delete('job/a'), false);
    assert.equal(v.traces.count(), 3);
    await assert.rejects(v.traces.put('', {}), ValidationError);
    await assert.rejects(v.traces.put('k', { big: 'x'.repeat(2 * 1024 * 1024) }), ValidationError);
    await assert.rejects(v.traces.put('k', { f: () => 1 } as never), ValidationError);
  });

  it('retention drops the oldest traces first, by count, bytes and age, at checkpoint; nothing newer', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('runs');
    const now = Date.now();
    for (let i = 0; i < 10; i++) await v.traces.put(`t${i}`, { i, pad: 'x'.repeat(100) }, { at: now - (10 - i) * DAY });
    const keys = () => v.traces.list().map((t) => t.key);

    await v.traces.setRetention({ maxCount: 7 });
    assert.equal(v.traces.count(), 10, 'not before a checkpoint');
    const cp = await db.checkpoint();
    assert.equal(cp.tracesExpired, 3);
    assert.deepEqual(keys(), ['t3', 't4', 't5', 't6', 't7', 't8', 't9']);

    const each = v.traces.get('t9')!.bytes;
    await v.traces.setRetention({ maxBytes: each * 5 });
    await db.checkpoint();
    assert.deepEqual(keys(), ['t5', 't6', 't7', 't8', 't9']);

    await v.traces.setRetention({ maxAgeMs: 3.5 * DAY });
    await db.compact();
    assert.deepEqual(keys(), ['t7', 't8', 't9']);
    assert.deepEqual(v.traces.retention, { maxAgeMs: 3.5 * DAY });
    const stats = db.stats().vaults[0]!.traces;
    assert.equal(stats.count, 3);
    await db.close();
    const again = await open(dir);
    assert.deepEqual(again.vault('runs').traces.list().map((t) => t.key), ['t7', 't8', 't9']);
    assert.deepEqual(again.vault('runs').traces.retention, { maxAgeMs: 3.5 * DAY });
    await again.close();
  });

  it('history goes through db.batch, the log and checkpoints, and readers see it after refresh()', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    await db.createVault('kb');
    const reader = await open(dir, { readOnly: true });
    await db.batch([
      { op: 'layer.commit', vault: 'kb', resources: { 'urn:a': { v: 1 } } },
      { op: 'layer.commit', vault: 'kb', resources: { 'urn:a': { v: 2 } } },
      { op: 'branch.create', vault: 'kb', name: 'b', from: 'L1' },
      { op: 'trace.put', vault: 'kb', key: 'k', trace: { ok: 1 }, at: 5 },
      { op: 'insert', vault: 'kb', id: 'r', vector: [1, 0] },
    ]);
    await assert.rejects(db.batch([{ op: 'trace.put', vault: 'kb', key: 'k2', trace: {} }, { op: 'layer.commit', vault: 'kb', resources: { x: null }, expectedHead: 'L1' }]));
    assert.equal(db.vault('kb').traces.get('k2'), null, 'a batch applies all or nothing');
    const r = reader.vault('kb');
    assert.equal(r.layers.get('L1'), null);
    await reader.refresh();
    assert.deepEqual(r.layers.resolve('urn:a'), { v: 2 });
    assert.equal(r.layers.log('main').map((l) => l.parent).join(), 'L1,');
    assert.equal(r.branches.get('b')!.head, 'L1');
    assert.deepEqual(r.traces.get('k')!.trace, { ok: 1 });
    await db.vault('kb').traces.setRetention({ maxCount: 0 });
    await db.checkpoint();
    await reader.refresh();
    assert.equal(r.traces.count(), 0, 'retention reaches readers too');
    await reader.close();
    await db.close();
    const again = await open(dir, { storage: 'segmented' });
    assert.deepEqual(again.vault('kb').layers.resolve('urn:a', { branch: 'b' }), { v: 1 });
    await again.close();
  });
});
