import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type Database, type Hit } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { dbPath, seeded } from '../helpers/tmp.js';

/**
 * Read-only opens search their checkpoint's graph mapped, through the native addon (README
 * "Readers share memory"). Checked here at the database's level: a mapped reader and a reader on
 * hnswlib-node's path (QUIVER_NATIVE=0, the fallback) give the same hits on the same database,
 * deleted records and payload filters included; a mapped reader follows the log (erases, new
 * and updated records); a damaged graph file fails the open with CorruptionError.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 16;
const N = 42_000;
const GROUPS = 20; // 5% per group: above the exact-scan limits, so a filter takes the filtered graph search

function vectors(n: number, seed: number): Float32Array[] {
  const r = seeded(seed);
  const centres = Array.from({ length: 24 }, () => Float32Array.from({ length: DIM }, () => r() * 2));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(((r() + 1) / 2) * centres.length) % centres.length]!;
    return Float32Array.from(c, (x) => x + r() * 0.7);
  });
}

/** Opens a reader with the addon on or off (the switch is read at each open). */
async function reader(dir: string, native: boolean): Promise<Database> {
  const before = process.env.QUIVER_NATIVE;
  if (native) delete process.env.QUIVER_NATIVE;
  else process.env.QUIVER_NATIVE = '0';
  try {
    return await open(dir, { readOnly: true });
  } finally {
    if (before === undefined) delete process.env.QUIVER_NATIVE;
    else process.env.QUIVER_NATIVE = before;
  }
}

function mapped(db: Database): boolean | undefined {
  return db.stats().vaults.find((v) => v.name === 'v')!.index.mapped;
}

const brief = (hits: Hit[]) => hits.map((h) => [h.id, h.distance]);

async function buildDatabase(): Promise<{ dir: string; data: Float32Array[]; erased: Set<string> }> {
  const dir = dbPath();
  const data = vectors(N, 11);
  const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
  const v = await db.createVault('v');
  for (let from = 0; from < N; from += 3000) {
    await v.insertMany(data.slice(from, from + 3000).map((vector, j) => ({ id: `r${from + j}`, vector, payload: { g: (from + j) % GROUPS, n: from + j } })));
  }
  await v.createIndex('g');
  // Deleted records: the saved graph carries their marks.
  const erased = new Set<string>();
  assert.equal(await v.eraseWhere({ g: 7 }), N / GROUPS);
  for (let i = 7; i < N; i += GROUPS) erased.add(`r${i}`);
  await db.settle();
  await db.checkpoint();
  await db.close();
  return { dir, data, erased };
}

describe('readers on the mapped graph', () => {
  let built: Promise<{ dir: string; data: Float32Array[]; erased: Set<string> }> | null = null;
  const database = () => (built ??= buildDatabase());

  it('the same hits as hnswlib-node\'s path: many queries, several ef, deleted records, payload filters', async () => {
    const { dir, erased } = await database();
    const native = await reader(dir, true);
    const plain = await reader(dir, false);
    assert.equal(mapped(native), true, 'the reader maps its graph');
    assert.equal(mapped(plain), undefined, 'QUIVER_NATIVE=0: the reader reads the graph with hnswlib-node');
    const queries = vectors(120, 99);
    let compared = 0;
    for (const ef of [16, 64, 200]) {
      for (const [i, q] of queries.entries()) {
        const k = i % 3 === 0 ? 25 : 10;
        // An indexed field (the search gets a bitmap), two values (a broad filter: post-filtered),
        // and an indexed field with an unindexed one (the search gets a callback).
        for (const filter of [undefined, { g: i % GROUPS }, { g: { $in: [i % GROUPS, (i + 1) % GROUPS] } }, { g: i % GROUPS, n: { $gte: 500 } }]) {
          const options = { k, ef, ...(filter ? { filter } : {}) };
          const a = await native.vault('v').search(q, options);
          const b = await plain.vault('v').search(q, options);
          assert.deepEqual(brief(a), brief(b), `query ${i}, ef ${ef}, filter ${JSON.stringify(filter)}`);
          for (const h of a) assert.ok(!erased.has(h.id), `erased ${h.id} returned`);
          if (filter === undefined || (typeof filter.g === 'number' && filter.g !== 7)) assert.equal(a.length, k);
          compared++;
        }
      }
    }
    assert.equal(compared, 3 * queries.length * 4);
    await native.close();
    await plain.close();
  });

  it('a mapped reader follows the log: erased records stay out, new and updated ones are found', async () => {
    const { dir, data } = await database();
    const writer = await open(dir, { create: false });
    const native = await reader(dir, true);
    const v = writer.vault('v');
    const fresh = vectors(300, 123);
    await v.insertMany(fresh.map((vector, j) => ({ id: `new${j}`, vector, payload: { g: 3, n: -1 } })));
    // Updated: r1 .. r99 (odd) move to fresh places; erased: r0 .. r98 (even).
    const moved = new Map<string, Float32Array>();
    for (let i = 1; i < 100; i += 2) {
      const to = Float32Array.from(data[N - 1 - i]!, (x) => x + 0.01);
      moved.set(`r${i}`, to);
      await v.insert(`r${i}`, to, { g: 3, n: i });
    }
    const gone = new Set<string>();
    for (let i = 0; i < 100; i += 2) {
      await v.erase(`r${i}`);
      gone.add(`r${i}`);
    }
    await native.refresh();
    const r = native.vault('v');
    assert.equal(mapped(native), true);
    await native.settle();
    for (const [j, q] of fresh.entries()) {
      if (j % 10 !== 0) continue;
      const [top] = await r.search(q, { k: 5 });
      assert.equal(top!.id, `new${j}`, 'a record added after the checkpoint is found');
      const [inGroup] = await r.search(q, { k: 5, filter: { g: 3 } });
      assert.equal(inGroup!.id, `new${j}`, 'and found through a filter');
    }
    for (const [id, to] of moved) {
      const hits = await r.search(to, { k: 10 });
      assert.equal(hits[0]!.id, id, `${id} is found at its new vector`);
      const old = await r.search(data[Number(id.slice(1))]!, { k: 10 });
      for (const h of old) if (h.id === id) assert.ok(h.distance! > 1e-3, `${id} is not found at its old vector`);
    }
    for (let i = 0; i < 100; i += 2) {
      for (const h of await r.search(data[i]!, { k: 10 })) assert.ok(!gone.has(h.id), `erased ${h.id} came back`);
    }
    await native.close();
    await writer.close();
  });

  it('a damaged or truncated graph file fails the mapped reader\'s open with CorruptionError', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 4, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
    const v = await db.createVault('v');
    await v.insertMany(Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, vector: [Math.sin(i), Math.cos(i), i % 7, 1] })));
    await db.checkpoint();
    await db.close();
    const segments = path.join(dir, 'segments');
    const graph = path.join(segments, fs.readdirSync(segments).find((f) => f.endsWith('.hnsw'))!);
    const good = fs.readFileSync(graph);
    const flipped = Buffer.from(good);
    flipped[96 + 40]! ^= 0x10; // a byte of element 0's links
    for (const [what, bytes] of [['a flipped byte', flipped], ['a truncated file', good.subarray(0, good.length - 100)]] as const) {
      fs.writeFileSync(graph, bytes);
      await assert.rejects(reader(dir, true), (e: unknown) => e instanceof CorruptionError && e.file.endsWith('.hnsw'), what);
    }
    fs.writeFileSync(graph, good);
    const ok = await reader(dir, true);
    assert.equal(mapped(ok), true);
    assert.equal((await ok.vault('v').search([Math.sin(5), Math.cos(5), 5, 1], { k: 1 }))[0]!.id, 'r5');
    await ok.close();
  });
});
