import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { GraphVectorBlock } from '../../src/segments/graph-vector-block.js';
import { RecordColumns } from '../../src/vault/record-columns.js';
import type { VaultState } from '../../src/vault/vault-state.js';
import { sameBits, vectorWithExtremes } from '../helpers/extreme-vectors.js';
import { dbPath } from '../helpers/tmp.js';

/**
 * A writer's records after a checkpoint that writes its vault whole (src/engine/maintenance/
 * rebase-records.ts): held as a reopened writer holds them, columns over the new segment's
 * RECORDS and a block over its GRAPH_VECTORS rows and the mapped graph, not an object per record
 * (#19, the writer's memory). Every record, payload and search reads the same; writes, delta
 * checkpoints and reopening go on from there; a search holding the vault across the checkpoint
 * reads the records it started on, and their block is closed once it ends.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 24;
const COUNT = 1500;

function vaultOf(db: Database): VaultState {
  return [...(db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state.vaults.values()][0]!;
}

/** The store's base rows (RecordStore.load of a segment's columns), or null. */
function baseOf(vault: VaultState): unknown {
  return (vault.records as unknown as { base: unknown }).base;
}

/** Graph files of `dir` this process maps (Linux /proc/self/maps), "(deleted)" kept. */
function mappedGraphs(dir: string): string[] {
  const seg = path.join(dir, 'segments') + '/';
  return [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.slice(l.indexOf('/'))).filter((f) => f.startsWith(seg) && /\.hnsw( \(deleted\))?$/.test(f)).map((f) => f.slice(seg.length)))].sort();
}

async function readBack(db: Database, want: Map<string, { vector: Float32Array; payload: unknown }>): Promise<string> {
  const v = db.vault('v');
  assert.equal(v.count(), want.size);
  for (const [id, { vector, payload }] of want) {
    const got = v.get(id)!;
    assert.ok(sameBits(got.vector, vector), id);
    assert.deepEqual(got.payload, payload, id);
  }
  const exact = await v.search(vectorWithExtremes(DIM, 5), { k: 10, exact: true });
  const filtered = await v.search(vectorWithExtremes(DIM, 6), { k: 10, filter: { group: 3 } });
  return JSON.stringify([exact.map((h) => [h.id, h.score]), filtered.map((h) => [h.id, h.score])]);
}

describe("a writer's records after its vault is written whole", () => {
  it('are columns over the new segment, read the same, and go on through writes, delta checkpoints and a reopen', async () => {
    const dir = dbPath();
    const want = new Map(Array.from({ length: COUNT }, (_, i) => [`r${i}`, { vector: vectorWithExtremes(DIM, i), payload: { i, group: i % 7 } }]));
    let db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
    try {
      const v = await db.createVault('v');
      await v.createIndex('group');
      await v.insertMany([...want].map(([id, r]) => ({ id, ...r })));
      const before = await readBack(db, want);
      const records = vaultOf(db).records;
      await db.checkpoint();
      const vault = vaultOf(db);
      assert.notEqual(vault.records, records, 'the store was replaced');
      assert.ok(baseOf(vault) instanceof RecordColumns, 'the records are columns over the segment');
      assert.ok(vault.stored instanceof GraphVectorBlock && vault.stored.mapped, 'their vectors are read from the mapped graph');
      assert.equal(await readBack(db, want), before);
      assert.deepEqual(mappedGraphs(dir), [path.basename(decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).vaults[0]!.graph!.path)], 'the graph before is unmapped');
      // Writes on the columns, then a checkpoint that adds a delta to the new base.
      for (let i = 0; i < 90; i += 3) {
        await v.erase(`r${i}`);
        want.delete(`r${i}`);
      }
      const replaced = { vector: vectorWithExtremes(DIM, 9001), payload: { i: -1, group: 3 } };
      await v.insert('r1', replaced.vector, replaced.payload);
      want.set('r1', replaced);
      const added = Array.from({ length: 40 }, (_, i) => ({ id: `n${i}`, vector: vectorWithExtremes(DIM, 5000 + i), payload: { i: 5000 + i, group: i % 7 } }));
      await v.insertMany(added);
      for (const a of added) want.set(a.id, { vector: a.vector, payload: a.payload });
      const after = await readBack(db, want);
      await db.checkpoint();
      const manifest = decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest')));
      assert.equal(manifest.vaults[0]!.deltas?.length, 1, 'the next checkpoint wrote a delta on the new base');
      assert.equal(await readBack(db, want), after);
      await db.close();
      db = await open(dir);
      await db.settle();
      assert.equal(await readBack(db, want), after, 'reopened');
      // A compaction renumbers the labels and writes whole: the records are columns over it too.
      await db.vault('v').erase('r3');
      want.delete('r3');
      await db.compact();
      assert.ok(baseOf(vaultOf(db)) instanceof RecordColumns, 'columns after a compaction');
      const compacted = await readBack(db, want);
      await db.close();
      db = await open(dir);
      assert.equal(await readBack(db, want), compacted, 'reopened after the compaction');
    } finally {
      await db.close();
    }
  });

  it('are searched with a payload filter the planner cached before the checkpoint, as the records they are now', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
    try {
      const v = await db.createVault('v');
      await v.createIndex('g');
      await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `r${i}`, vector: vectorWithExtremes(DIM, i), payload: { g: i % 50 } })));
      await db.checkpoint(); // whole: the records become columns over it
      const query = vectorWithExtremes(DIM, 77);
      await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `s${i}`, vector: vectorWithExtremes(DIM, 20_000 + i), payload: { g: 7 } })));
      // Cached by the planner against the vault as it is now, the last write before the checkpoint.
      const first = await v.search(query, { k: 5, filter: { g: 2 } });
      await db.checkpoint(); // whole again (past a quarter of the base): the block before is closed
      assert.ok(baseOf(vaultOf(db)) instanceof RecordColumns);
      const again = await v.search(query, { k: 5, filter: { g: 2 } });
      assert.deepEqual(again.map((h) => [h.id, h.score]), first.map((h) => [h.id, h.score]));
      assert.equal((await v.search(query, { k: 3, filter: { g: 7 } })).length, 3);
    } finally {
      await db.close();
    }
  });

  it('leave a search holding the vault across the checkpoint on the records it began with, then close their block', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
    try {
      const v = await db.createVault('v');
      await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `r${i}`, vector: vectorWithExtremes(DIM, i) })));
      await db.checkpoint();
      await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `s${i}`, vector: vectorWithExtremes(DIM, 10_000 + i) })));
      await v.erase('r0'); // no delta fits once the change passes a quarter of the base: whole again
      const old = vaultOf(db).stored as GraphVectorBlock;
      let closedDuring: boolean | null = null;
      let checkpointed!: Promise<unknown>;
      let release!: () => void;
      let later!: Promise<void>;
      const held = vaultOf(db).held(async () => {
        checkpointed = db.checkpoint();
        await checkpointed;
        assert.ok(baseOf(vaultOf(db)) instanceof RecordColumns, 'rebased while the vault was held');
        assert.notEqual(vaultOf(db).stored, old);
        closedDuring = (old as unknown as { shut: boolean }).shut;
        // A search begun after the rebase reads the new records: it does not keep the old block open.
        later = vaultOf(db).held(() => new Promise<void>((resolve) => (release = resolve)));
        // The block the records before read is still open: a vector of it reads.
        assert.ok(sameBits(old.vector(3), vectorWithExtremes(DIM, 4)) || old.vector(3).length === DIM);
      });
      await held;
      assert.equal(closedDuring, false, 'not closed while held');
      assert.equal((old as unknown as { shut: boolean }).shut, true, 'closed once the hold begun before the rebase ended, a later one still running');
      release();
      await later;
      assert.ok(sameBits(v.get('s7')!.vector, vectorWithExtremes(DIM, 10_007)));
      assert.equal(v.get('r0'), null);
    } finally {
      await db.close();
    }
  });
});
