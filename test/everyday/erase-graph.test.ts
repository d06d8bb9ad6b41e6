import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, type Vault } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

/**
 * Erasing from an HNSW vault defers the graph's markDelete (hnsw-index.ts): the marks are made
 * before the graph next answers a search or takes an insertion. These check that an erased
 * record never comes back from the graph, at once (same tick, before any background work could
 * run), after inserting into freed slots, after a checkpoint and reopen, in a reader after
 * refresh(), and after compaction; and that a graph search still finds k live records.
 */
const N = 400;
const DIM = 8;

function vectorOf(i: number): number[] {
  // Deterministic, spread out: the graph has real neighbours to choose from.
  return Array.from({ length: DIM }, (_, d) => Math.sin(i * 12.9898 + d * 78.233) * 43758.5453 % 1);
}

async function load(v: Vault, from: number, to: number): Promise<void> {
  await v.insertMany(Array.from({ length: to - from }, (_, j) => ({ id: `r${from + j}`, vector: vectorOf(from + j), payload: { odd: (from + j) % 2 === 1, n: from + j } })));
}

/**
 * Unfiltered graph searches from several points, for k = 10 and k = every live record (an
 * unmarked node would then take a live record's place): every hit is live, and each search
 * returns min(k, live) hits, as the exact scan does.
 */
async function assertGraphLive(v: Vault, erased: ReadonlySet<string>, label: string): Promise<void> {
  const live = v.count();
  for (const [q, k] of [0, 7, 133, 250, 301, 341].flatMap((q) => [[q, 10], [q, live]] as const)) {
    const hits = await v.search(vectorOf(q), { k });
    const exactHits = await v.search(vectorOf(q), { k, exact: true });
    for (const h of hits) assert.ok(!erased.has(h.id), `${label}: erased ${h.id} came back from the graph`);
    assert.equal(hits.length, Math.min(k, live), `${label}: graph search returned ${hits.length} of ${Math.min(k, live)} live hits`);
    assert.equal(exactHits.length, hits.length, label);
  }
  for (const id of erased) assert.equal(v.get(id), null, `${label}: ${id} readable`);
}

describe('eraseWhere on an HNSW vault (deferred graph marks)', () => {
  it('an erased record never comes back from the graph: at once, after inserts, checkpoint, reopen, refresh and compaction', async () => {
    const dir = dbPath();
    let db = await open(dir, { dimension: DIM, durability: 'standard' });
    let v = await db.createVault('v');
    await load(v, 0, N);
    await v.createIndex('odd');
    await db.settle(); // every vector in the graph: the erased ones must be marked, not just dequeued
    const erased = new Set<string>();
    const reader = await open(dir, { readOnly: true });

    // Half the vault, then a search in the same tick as the erase's resolution.
    assert.equal(await v.eraseWhere({ odd: true }), N / 2);
    for (let i = 1; i < N; i += 2) erased.add(`r${i}`);
    await assertGraphLive(v, erased, 'right after eraseWhere');

    // Erase more and insert at once (same tick): the insertions take over deleted slots.
    assert.equal(await v.eraseWhere({ n: { $lt: 100 } }), 50);
    for (let i = 0; i < 100; i += 2) erased.add(`r${i}`);
    await load(v, N, N + 60);
    await db.settle();
    await assertGraphLive(v, erased, 'after inserting into freed slots');
    for (const i of [N, N + 31, N + 59]) assert.equal((await v.search(vectorOf(i), { k: 1 }))[0]!.id, `r${i}`, 'a new record is found in the graph');

    // A reader applies the same erase from the log.
    await reader.refresh();
    await assertGraphLive(reader.vault('v'), erased, 'reader after refresh');

    // Erase, checkpoint at once (the saved graph must hold the mark), reopen.
    assert.equal(await v.eraseWhere({ n: { $gte: 300, $lt: 340 } }), 20);
    for (let i = 300; i < 340; i += 2) erased.add(`r${i}`);
    await db.checkpoint();
    await db.close();
    db = await open(dir, { durability: 'standard' });
    v = db.vault('v');
    await assertGraphLive(v, erased, 'after checkpoint and reopen');

    // Erase, close without a checkpoint (replay applies it to the loaded graph), reopen.
    assert.equal(await v.eraseWhere({ n: { $gte: 200, $lt: 240 } }), 20);
    for (let i = 200; i < 240; i += 2) erased.add(`r${i}`);
    await db.close();
    db = await open(dir, { durability: 'standard' });
    v = db.vault('v');
    await assertGraphLive(v, erased, 'after replay of the log');
    await reader.refresh();
    await assertGraphLive(reader.vault('v'), erased, 'reader after the writer reopened');

    // Compaction rebuilds the graph from the records.
    assert.equal(await v.eraseWhere({ n: { $gte: 340, $lt: 380 } }), 20);
    for (let i = 340; i < 380; i += 2) erased.add(`r${i}`);
    await db.compact();
    await assertGraphLive(v, erased, 'after compaction');
    assert.equal(v.count(), N + 60 - erased.size);
    await reader.close();
    await db.close();
  });
});
