import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, QuotaExceededError, ValidationError, type Database, type Filter, type Vault } from '../../src/index.js';
import { dbPath, fingerprint, tmpDir } from '../helpers/tmp.js';
import { dump } from '../helpers/state.js';

const invalid = (field: string) => (err: unknown) => err instanceof ValidationError && err.code === 'INVALID_ARGUMENT' && err.field === field;

async function seeded(dir: string | undefined, options: Parameters<typeof open>[1] = {}): Promise<{ db: Database; v: Vault }> {
  const db = dir === undefined ? await open(undefined, { dimension: 3, ...options }) : await open(dir, { dimension: 3, ...options });
  const v = await db.createVault('docs');
  await v.insertMany(
    Array.from({ length: 30 }, (_, i) => ({ id: `r${String(i).padStart(2, '0')}`, vector: [i + 1, 1, (i % 5) - 2], payload: { tag: ['x', 'y', 'z'][i % 3]!, n: i, meta: { a: i % 2 }, tags: i % 2 ? ['p', 'q'] : ['p'] } })),
  );
  return { db, v };
}

/** Every record as plain data, for comparing states. */
function records(v: Vault): unknown[] {
  return v.ids().map((id) => {
    const r = v.get(id)!;
    return [id, Array.from(r.vector), r.payload, r.document];
  });
}

describe('everyday reads', () => {
  it('getMany returns records in the order given, null for missing ids, vectors included', async () => {
    const { db, v } = await seeded(dbPath());
    const got = v.getMany(['r05', 'nope', 'r01', 'r05']);
    assert.deepEqual(got.map((r) => r?.id ?? null), ['r05', null, 'r01', 'r05']);
    assert.deepEqual(Array.from(got[0]!.vector), [6, 1, -2]);
    assert.deepEqual(got[0]!.payload, v.get('r05')!.payload);
    got[0]!.payload!.tag = 'changed';
    assert.equal(v.get('r05')!.payload!.tag, 'z', 'a copy, not the stored payload');
    assert.throws(() => v.getMany(['a', '']), invalid('ids[1]'));
    assert.throws(() => v.getMany('a' as never), invalid('ids'));
    await db.close();
  });

  it('count(filter) agrees with a scan, with and without a payload index', async () => {
    const { db, v } = await seeded(dbPath());
    const filters: Filter[] = [{ tag: 'x' }, { tag: { $in: ['x', 'y'] } }, { n: { $gte: 10, $lt: 20 } }, { tag: 'x', n: { $gt: 12 } }, { $or: [{ tag: 'z' }, { n: 1 }] }, { 'meta.a': 1 }, {}];
    const brute = (f: Filter) => v.scan({ filter: f, limit: 10_000 }).records.length;
    const without = filters.map((f) => v.count(f));
    await v.createIndex('tag');
    await v.createIndex('n');
    assert.deepEqual(filters.map((f) => v.count(f)), without);
    assert.deepEqual(without, filters.map(brute));
    assert.deepEqual(without.slice(0, 3), [10, 20, 10]);
    assert.equal(v.count(), 30);
    assert.throws(() => v.count({ tag: { $regex: 'x' } }), invalid('filter.tag.$regex'));
    await db.close();
  });

  it('scan pages in code-unit order of id; next is null on the last page; records() iterates the same', async () => {
    const { db, v } = await seeded(dbPath());
    await v.insert('Z', [1, 2, 3], { tag: 'x' });
    await v.insert('é', [1, 2, 3], { tag: 'x' });
    await v.insert('a\u{1F600}', [1, 2, 3], { tag: 'x' });
    await v.insert('a\uFFFF', [1, 2, 3], { tag: 'x' });
    const all: string[] = [];
    let page = v.scan({ limit: 7 });
    for (;;) {
      assert.ok(page.records.length <= 7);
      all.push(...page.records.map((r) => r.id));
      if (page.next === null) break;
      assert.equal(page.next, page.records[page.records.length - 1]!.id);
      page = v.scan({ limit: 7, after: page.next });
    }
    const expected = v.ids();
    assert.deepEqual(all, expected);
    // Code-unit order: the surrogate pair (0xD83D...) sorts before U+FFFF.
    assert.ok(expected.indexOf('a\u{1F600}') < expected.indexOf('a\uFFFF'));
    assert.equal(v.scan({ limit: all.length }).next, null, 'a page that ends exactly at the end has no next');
    assert.equal(v.scan().records[0]!.vector, undefined);
    assert.deepEqual(Array.from(v.scan({ withVectors: true, limit: 1 }).records[0]!.vector!), Array.from(v.get(expected[0]!)!.vector));
    const xs: string[] = [];
    for await (const r of v.records({ filter: { tag: 'x' }, batchSize: 3 })) xs.push(r.id);
    assert.deepEqual(xs, expected.filter((id) => v.get(id)!.payload!.tag === 'x'));
    await v.createIndex('tag');
    const indexed: string[] = [];
    for (let p = v.scan({ filter: { tag: 'y' }, limit: 4 }); ; p = v.scan({ filter: { tag: 'y' }, limit: 4, after: p.next })) {
      indexed.push(...p.records.map((r) => r.id));
      if (!p.next) break;
    }
    assert.deepEqual(indexed, expected.filter((id) => v.get(id)!.payload!.tag === 'y'));
    assert.throws(() => v.scan({ limit: 0 }), invalid('limit'));
    assert.throws(() => v.scan({ limit: 10_001 }), invalid('limit'));
    assert.throws(() => v.scan({ after: 5 as never }), invalid('after'));
    assert.throws(() => v.scan({ withVectors: 'yes' as never }), invalid('withVectors'));
    assert.throws(() => v.records({ batchSize: -1 }), invalid('batchSize'));
    await db.close();
  });

  it('the scan cursor under concurrent writes: every record that exists throughout comes back exactly once', async () => {
    const { db, v } = await seeded(dbPath());
    await v.insertMany(Array.from({ length: 400 }, (_, i) => ({ id: `s${(i * 7919) % 1000}`, vector: [1, i, 2], payload: { stable: true } })));
    const stable = new Set(v.ids());
    let churn = 0;
    let writing = true;
    // Writes race the pages: inserts land before and after the cursor, erases and upserts of
    // records that are not stable, patches of stable ones.
    const writer = (async () => {
      while (writing) {
        const n = churn++;
        await v.insert(`c${(n * 104729) % 997}`, [1, 1, n], { n });
        if (n % 3 === 0) await v.erase(`c${((n - 3) * 104729) % 997}`);
        await v.patch([...stable][n % stable.size]!, { set: { touched: n } });
        if (n % 5 === 0) await v.eraseWhere({ n: { $lt: n - 20 } });
      }
    })();
    const seen = new Map<string, number>();
    for (let p = v.scan({ limit: 13 }); ; ) {
      for (const r of p.records) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
      if (!p.next) break;
      await new Promise((resolve) => setImmediate(resolve));
      p = v.scan({ limit: 13, after: p.next });
    }
    writing = false;
    await writer;
    assert.ok(churn > 20, `writes happened during the scan (${churn})`);
    for (const id of stable) assert.equal(seen.get(id), 1, `${id} exactly once`);
    for (const [id, n] of seen) assert.equal(n, 1, `${id} not repeated`);
    await db.close();
  });
});

describe('everyday writes', () => {
  it('patch: set by dotted path, unset paths; vector and document kept, nothing re-embedded', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local' });
    const v = await db.createVault('docs');
    await v.addDocument({ id: 'd1', text: 'the quick brown fox ERR_4411', payload: { tag: 'x', meta: { a: 1, b: 2 }, tmp: 1 } });
    const before = v.get('d1')!;
    let embedded = 0;
    const embed = db.embedder!.embed.bind(db.embedder!);
    db.embedder!.embed = (texts) => ((embedded += texts.length), embed(texts));
    assert.equal(await v.patch('d1', { set: { 'meta.k': 1, 'deep.er.x': [1, 2], tag: 'y' }, unset: ['tmp', 'meta.b', 'no.such'] }), true);
    const after = v.get('d1')!;
    assert.deepEqual(after.payload, { tag: 'y', meta: { a: 1, k: 1 }, deep: { er: { x: [1, 2] } } });
    assert.deepEqual(after.vector, before.vector);
    assert.deepEqual(after.document, before.document);
    assert.equal(embedded, 0);
    assert.ok(after.lsn > before.lsn);
    assert.equal(await v.patch('missing', { set: { a: 1 } }), false);
    // A scalar in the way of a dotted path is replaced by an object.
    await v.patch('d1', { set: { 'tag.sub': 1 } });
    assert.deepEqual(v.get('d1')!.payload!.tag, { sub: 1 });
    assert.equal((await v.search('ERR_4411', { mode: 'text', k: 1 }))[0]!.id, 'd1', 'the text index still finds it');
    await db.close();
  });

  it('eraseWhere and patchWhere act on what matches when applied; {} is refused unless { all: true }', async () => {
    const { db, v } = await seeded(dbPath());
    await v.createIndex('tag');
    assert.equal(await v.patchWhere({ tag: 'x' }, { set: { seen: true }, unset: ['meta'] }), 10);
    assert.equal(v.count({ seen: true }), 10);
    assert.equal(v.count({ tag: 'x', 'meta.a': { $exists: true } }), 0);
    assert.equal(await v.patchWhere({ tag: 'x' }, { set: { tag: 'w' } }), 10);
    assert.equal(v.count({ tag: 'x' }), 0, 'the payload index follows the patch');
    assert.equal(v.count({ tag: 'w' }), 10);
    assert.equal(await v.eraseWhere({ tag: 'w' }), 10);
    assert.equal(await v.eraseWhere({ tag: 'w' }), 0);
    assert.equal(v.count(), 20);
    const lsn = db.stats().lastLsn;
    await assert.rejects(v.eraseWhere({}), invalid('filter'));
    await assert.rejects(v.eraseWhere({}, { all: 'yes' as never }), invalid('all'));
    await assert.rejects(v.eraseWhere(null as never), invalid('filter'));
    await assert.rejects(v.eraseWhere({ tag: { $bad: 1 } }), invalid('filter.tag.$bad'));
    assert.equal(db.stats().lastLsn, lsn, 'nothing logged');
    assert.equal(await v.eraseWhere({}, { all: true }), 20);
    assert.equal(v.count(), 0);
    await db.close();
  });

  it('batch: patch, eraseWhere and patchWhere see the ops before them in the same batch, all or nothing', async () => {
    const { db, v } = await seeded(dbPath());
    await db.batch([
      { op: 'insert', vault: 'docs', id: 'new', vector: [1, 1, 1], payload: { tag: 'gone' } },
      { op: 'patch', vault: 'docs', id: 'r00', set: { tag: 'gone' } },
      { op: 'eraseWhere', vault: 'docs', filter: { tag: 'gone' } },
      { op: 'patchWhere', vault: 'docs', filter: { tag: 'y' }, set: { 'meta.b': 2 } },
      { op: 'patch', vault: 'docs', id: 'r01', unset: ['meta.a'] },
      { op: 'eraseWhere', vault: 'docs', filter: { tag: 'nothing' } },
    ]);
    assert.equal(v.has('new'), false);
    assert.equal(v.has('r00'), false);
    assert.deepEqual(v.get('r01')!.payload!.meta, { b: 2 });
    assert.equal(v.count({ 'meta.b': 2 }), 10);
    const state = records(v);
    const lsn = db.stats().lastLsn;
    await assert.rejects(db.batch([{ op: 'patchWhere', vault: 'docs', filter: { tag: 'y' }, set: { ok: 1 } }, { op: 'patch', vault: 'docs', id: 'r02', set: { 'a..b': 1 } }]), invalid('ops[1].set.a..b'));
    await assert.rejects(db.batch([{ op: 'eraseWhere', vault: 'docs', filter: { tag: 'y' } }, { op: 'eraseWhere', vault: 'docs', filter: {} }]), invalid('ops[1].filter'));
    assert.deepEqual(records(v), state);
    assert.equal(db.stats().lastLsn, lsn);
    await db.close();
  });

  it('bad patches raise ValidationError naming the field and change nothing, on disk either', async () => {
    const dir = dbPath();
    const { db, v } = await seeded(dir, { maxPayloadBytes: 512 });
    await db.checkpoint();
    const files = fingerprint(dir);
    const state = dump(db);
    await assert.rejects(v.patch('r01', null as never), invalid('patch'));
    await assert.rejects(v.patch('r01', {}), invalid('set'));
    await assert.rejects(v.patch('r01', { set: {} }), invalid('set'));
    await assert.rejects(v.patch('r01', { set: { a: undefined } } as never), invalid('set.a'));
    await assert.rejects(v.patch('r01', { set: { a: new Date() } } as never), invalid('set.a'));
    await assert.rejects(v.patch('r01', { set: { '__proto__.x': 1 } }), invalid('set.__proto__.x'));
    await assert.rejects(v.patch('r01', { set: { 'a.b': 1 }, unset: ['a'] }), invalid('unset[0]'));
    await assert.rejects(v.patch('r01', { set: { a: 1, 'a.b': 2 } }), invalid('set.a.b'));
    await assert.rejects(v.patch('r01', { unset: 'a' as never }), invalid('unset'));
    await assert.rejects(v.patch('r01', { unset: [''] }), invalid('unset[0]'));
    await assert.rejects(v.patch('r01', { set: { a: 1 }, extra: 1 } as never), invalid('extra'));
    await assert.rejects(v.patch('', { set: { a: 1 } }), invalid('id'));
    // The size cap applies to the patched payload of every record a patchWhere touches.
    await v.insert('big', [1, 1, 1], { pad: 'x'.repeat(400) });
    const state2 = dump(db);
    const lsn = db.stats().lastLsn;
    await assert.rejects(v.patchWhere({ n: { $exists: false } }, { set: { more: 'y'.repeat(200) } }), invalid('set'));
    await assert.rejects(v.patchWhere({}, { set: { more: 'y'.repeat(200) } }), invalid('set'));
    assert.deepEqual(dump(db), state2);
    assert.equal(db.stats().lastLsn, lsn);
    await v.erase('big');
    assert.deepEqual(dump(db), state);
    await db.close();
    // What the bad calls left on disk: only the insert and erase of 'big'.
    const reopened = await open(dir);
    assert.deepEqual(dump(reopened), state);
    await reopened.close();
    assert.ok(fingerprint(dir)['segments/vault_0_1.segment'] === files['segments/vault_0_1.segment']);
  });

  it('quotas apply: a patch that would pass maxBytes changes nothing', async () => {
    const db = await open(undefined, { dimension: 3 });
    const v = await db.createVault('q', { quota: { maxBytes: 600 } });
    await v.insertMany(Array.from({ length: 10 }, (_, i) => ({ id: `k${i}`, vector: [1, 2, i], payload: { i } })));
    const before = records(v);
    assert.equal(v.info().bytes, 200);
    await assert.rejects(v.patchWhere({ i: { $gte: 0 } }, { set: { pad: 'x'.repeat(50) } }), (err: unknown) => err instanceof QuotaExceededError && err.code === 'QUOTA_EXCEEDED');
    await assert.rejects(db.batch([{ op: 'eraseWhere', vault: 'q', filter: { i: 0 } }, { op: 'patch', vault: 'q', id: 'k1', set: { pad: 'x'.repeat(500) } }]), QuotaExceededError);
    assert.deepEqual(records(v), before);
    // Shrinking is always allowed, and erasing frees room for a growing patch in the same batch.
    await db.batch([{ op: 'eraseWhere', vault: 'q', filter: { i: { $lt: 5 } } }, { op: 'patch', vault: 'q', id: 'k9', set: { pad: 'x'.repeat(150) } }]);
    assert.equal(v.count(), 5);
    assert.equal((v.get('k9')!.payload!.pad as string).length, 150);
    await db.close();
  });

  it('every operation survives reopen by WAL replay and by checkpoint, in segmented and snapshot storage', async () => {
    for (const storage of ['segmented', 'snapshot'] as const) {
      const dir = dbPath();
      const { db, v } = await seeded(dir, { storage });
      await v.createIndex('tag');
      await v.patch('r03', { set: { 'meta.k': 'v' }, unset: ['tags'] });
      await v.patchWhere({ tag: 'y' }, { set: { y: true } });
      await v.eraseWhere({ n: { $gte: 25 } });
      await db.batch([{ op: 'patchWhere', vault: 'docs', filter: { tag: 'z' }, unset: ['meta'] }, { op: 'eraseWhere', vault: 'docs', filter: { n: 0 } }]);
      const state = records(v);
      const counts = [v.count({ y: true }), v.count({ tag: 'z' })];
      await db.close();
      const replayed = await open(dir);
      assert.equal(replayed.stats().recovery!.replayedRecords > 0, true);
      assert.deepEqual(records(replayed.vault('docs')), state, `${storage}: WAL replay`);
      assert.deepEqual([replayed.vault('docs').count({ y: true }), replayed.vault('docs').count({ tag: 'z' })], counts);
      await replayed.checkpoint();
      await replayed.close();
      const checkpointed = await open(dir);
      assert.equal(checkpointed.stats().recovery!.replayedRecords, 0);
      assert.deepEqual(records(checkpointed.vault('docs')), state, `${storage}: checkpoint`);
      assert.deepEqual([checkpointed.vault('docs').count({ y: true }), checkpointed.vault('docs').count({ tag: 'z' })], counts);
      await checkpointed.close();
    }
  });

  it('a reader sees each operation after refresh()', async () => {
    const dir = dbPath();
    const { db, v } = await seeded(dir);
    const reader = await open(dir, { readOnly: true });
    const rv = reader.vault('docs');
    await v.patch('r01', { set: { p: 1 } });
    await v.patchWhere({ tag: 'z' }, { set: { z: 1 } });
    await v.eraseWhere({ tag: 'x' });
    await db.batch([{ op: 'patch', vault: 'docs', id: 'r02', unset: ['meta'] }, { op: 'eraseWhere', vault: 'docs', filter: { n: 29 } }]);
    assert.equal(rv.count(), 30, 'not before refresh');
    await reader.refresh();
    assert.deepEqual(records(rv), records(v));
    assert.equal(rv.count({ z: 1 }), 9);
    await assert.rejects(rv.eraseWhere({ tag: 'y' }), (err: unknown) => (err as { code?: string }).code === 'READ_ONLY');
    await assert.rejects(rv.patch('r01', { set: { a: 1 } }), (err: unknown) => (err as { code?: string }).code === 'READ_ONLY');
    await reader.close();
    await db.close();
  });

  it('export then import round-trips patched records byte for byte', async () => {
    const { db, v } = await seeded(dbPath());
    await v.patchWhere({ tag: 'x' }, { set: { 'meta.deep.k': [1, 'two', null], flag: false }, unset: ['tags'] });
    await v.eraseWhere({ tag: 'y' });
    const first = path.join(tmpDir(), 'export');
    await db.export(first);
    const copy = await open(dbPath(), { dimension: 3 });
    await copy.import(first);
    const second = path.join(tmpDir(), 'export');
    await copy.export(second);
    const files = (fs.readdirSync(first, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(first, f)).isFile()).sort();
    assert.ok(files.length > 0);
    assert.deepEqual((fs.readdirSync(second, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(second, f)).isFile()).sort(), files);
    for (const f of files) assert.ok(fs.readFileSync(path.join(first, f)).equals(fs.readFileSync(path.join(second, f))), f);
    assert.deepEqual(records(copy.vault('docs')).map((r) => (r as unknown[]).slice(0, 3)), records(v).map((r) => (r as unknown[]).slice(0, 3)));
    await copy.close();
    await db.close();
  });
});
