import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, type Database, type OpenOptions } from '../../src/index.js';
import { dbPath, vectors } from '../helpers/tmp.js';
import { dump } from '../helpers/state.js';

const DIM = 16;

async function fill(db: Database): Promise<void> {
  const docs = await db.createVault('docs', { quota: { maxRecords: 10_000 } });
  const other = await db.createVault('other');
  const vs = vectors(300, DIM, 7);
  await docs.insertMany(vs.slice(0, 200).map((vector, i) => ({ id: `d${i}`, vector, payload: { n: i, tag: i % 3 === 0 ? 'x' : 'y', nested: { deep: [i, 'ü'] } } })));
  for (let i = 200; i < 300; i++) await other.insert(`o${i}`, vs[i]!, i % 2 ? { odd: true } : null);
  for (let i = 0; i < 200; i += 7) await docs.erase(`d${i}`);
  await docs.insert('d1', vs[299]!, { n: -1, replaced: true }); // upsert
  await db.batch([
    { op: 'insert', vault: 'other', id: 'batch-a', vector: vs[5]! },
    { op: 'erase', vault: 'other', id: 'o201' },
  ]);
  const gone = await db.createVault('gone');
  await gone.insert('z', vs[0]!);
  await db.dropVault('gone');
}

async function searches(db: Database): Promise<unknown[]> {
  const qs = vectors(5, DIM, 99);
  const out: unknown[] = [];
  for (const q of qs) {
    out.push(await db.vault('docs').search(q, { k: 10 }));
    out.push(await db.vault('docs').search(q, { k: 5, filter: { tag: 'x' } }));
    out.push(await db.vault('other').search(q, { k: 7, exact: true }));
  }
  return out;
}

const variants: [string, OpenOptions, (db: Database) => Promise<void>][] = [
  ['WAL only', { dimension: DIM }, async () => {}],
  ['checkpointed', { dimension: DIM }, async (db) => void (await db.checkpoint())],
  ['checkpoint then more writes', { dimension: DIM }, async (db) => {
    await db.checkpoint();
    await db.vault('docs').insert('late', vectors(1, DIM, 3)[0]!, { late: true });
    await db.vault('docs').erase('d2');
  }],
  ['compacted', { dimension: DIM }, async (db) => void (await db.compact())],
  ['snapshot mode, WAL only', { dimension: DIM, storage: 'snapshot' }, async () => {}],
  ['snapshot mode, checkpointed', { dimension: DIM, storage: 'snapshot' }, async (db) => void (await db.checkpoint())],
  ['flat index, checkpointed', { dimension: DIM, index: 'flat' }, async (db) => void (await db.checkpoint())],
  ['l2 metric', { dimension: DIM, metric: 'l2' }, async (db) => void (await db.checkpoint())],
  ['ip metric, relaxed', { dimension: DIM, metric: 'ip', durability: 'relaxed' }, async () => {}],
  ['paranoid', { dimension: DIM, durability: 'paranoid' }, async () => {}],
];

describe('round trips: close and reopen give identical records and search results', () => {
  for (const [name, options, after] of variants) {
    it(name, async () => {
      const dir = dbPath();
      const db = await open(dir, options);
      await fill(db);
      await after(db);
      await db.settle();
      const before = dump(db);
      const results = await searches(db);
      const counts = db.vaults();
      await db.close();

      const again = await open(dir);
      await again.settle();
      assert.deepEqual(dump(again), before);
      assert.deepEqual(await searches(again), results);
      assert.deepEqual(again.vaults(), counts);
      assert.equal(again.hasVault('gone'), false);
      await again.close();
    });
  }

  it('a checkpointed database loads the saved graph instead of rebuilding it', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM });
    await fill(db);
    await db.checkpoint();
    await db.close();
    const again = await open(dir);
    const stats = again.stats();
    assert.equal(stats.recovery!.replayedRecords, 0);
    assert.equal(stats.epoch, 1);
    const docs = stats.vaults.find((v) => v.name === 'docs')!;
    assert.equal(docs.index.insertions, 0, 'nothing was inserted: the graph came from its file');
    assert.equal(docs.index.queued, 0);
    assert.ok(docs.index.elements! >= docs.index.size && docs.index.size === docs.records, JSON.stringify(docs.index));
    await again.close();
  });
});
