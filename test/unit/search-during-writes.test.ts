import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, type Database } from '../../src/index.js';
import type { VaultState } from '../../src/vault/vault-state.js';
import { dbPath } from '../helpers/tmp.js';

// A search awaits (the vectors reaching memory, the graph) between planning and answering; a
// write can apply in that gap. Whatever it sees, a search must answer from one state of the
// vault: a filtered search never returns a record whose payload (as returned) fails the filter,
// and a hit's score is its returned vector's.

const DIM = 4;

function vaultOf(db: Database): VaultState {
  const state = (db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state;
  return [...state.vaults.values()][0]!;
}

/** Makes the vault's next `times` vectorsLoaded() calls run `write(i)` first (writes landing in a search's gaps). */
function writeInGap(vault: VaultState, write: (i: number) => Promise<unknown>, times = 1): void {
  const loaded = vault.vectorsLoaded.bind(vault);
  let done = 0;
  vault.vectorsLoaded = async () => {
    if (done < times) await write(done++);
    return loaded();
  };
}

describe('a search with a write landing inside it', () => {
  for (const index of ['hnsw', 'flat'] as const) {
    it(`answers from one state of the vault (${index})`, async () => {
      const db = await open(dbPath(), { dimension: DIM, metric: 'l2', index: { type: index } });
      try {
        const v = await db.createVault('v');
        await v.insertMany(Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, vector: Float32Array.from([i, 0, 0, 0]), payload: { tag: 'a' } })));
        // The filter matched r0 when the search planned; the patch moves it out before the scan.
        writeInGap(vaultOf(db), () => v.patch('r0', { set: { tag: 'b' } }));
        const hits = await v.search(Float32Array.from([0, 0, 0, 0]), { k: 3, exact: true, filter: { tag: 'a' } });
        for (const h of hits) assert.equal((h.payload as { tag: string }).tag, 'a', `${h.id} is returned with a payload the filter rejects`);
        assert.deepEqual(hits.map((h) => h.id), ['r1', 'r2', 'r3']);
        // An upsert in the gap moves r1 away: it is scored where it is now, not where it was.
        writeInGap(vaultOf(db), () => v.insert('r1', Float32Array.from([40, 0, 0, 0]), { tag: 'a' }));
        const again = await v.search(Float32Array.from([0, 0, 0, 0]), { k: 3, exact: true, filter: { tag: 'a' } });
        assert.deepEqual(again.map((h) => h.id), ['r2', 'r3', 'r4']);
      } finally {
        await db.close();
      }
    });
  }

  it('with a write in every try, keeps only hits the filter accepts now, scored by their vectors now', async () => {
    const db = await open(dbPath(), { dimension: DIM, metric: 'l2', index: { type: 'flat' } });
    try {
      const v = await db.createVault('v');
      await v.insertMany(Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, vector: Float32Array.from([i, 0, 0, 0]), payload: { tag: 'a' } })));
      // Every try loses r<i> to the filter, and in the last gap r7, a match, moves far away.
      writeInGap(vaultOf(db), (i) => (i < 4 ? v.patch(`r${i}`, { set: { tag: 'b' } }) : v.insert('r7', Float32Array.from([100, 0, 0, 0]), { tag: 'a' })), 5);
      const hits = await v.search(Float32Array.from([0, 0, 0, 0]), { k: 6, exact: true, filter: { tag: 'a' } });
      for (const h of hits) assert.equal((h.payload as { tag: string }).tag, 'a', `${h.id} is returned with a payload the filter rejects`);
      // Scored and ranked as a search of the vault as it is now scores and ranks them: the last
      // try scanned r7's old vector; it comes back scored where it is now, last.
      const now = (await v.search(Float32Array.from([0, 0, 0, 0]), { k: 50, exact: true, filter: { tag: 'a' } })).filter((h) => hits.some((x) => x.id === h.id));
      assert.deepEqual(hits.map((h) => `${h.id} ${h.score}`).join(', '), now.map((h) => `${h.id} ${h.score}`).join(', '));
      assert.equal(hits.at(-1)!.id, 'r7');
    } finally {
      await db.close();
    }
  });

  it('through the graph and a payload index, and with vectors or MMR asked for, an erase or upsert in the gap', async () => {
    const db = await open(dbPath(), { dimension: DIM, metric: 'l2', index: { type: 'hnsw' } });
    try {
      const v = await db.createVault('v');
      await v.insertMany(Array.from({ length: 400 }, (_, i) => ({ id: `r${i}`, vector: Float32Array.from([i, i % 7, 0, 0]), payload: { tag: i % 2 ? 'a' : 'b' } })));
      await v.createIndex('tag');
      const origin = Float32Array.from([0, 0, 0, 0]);
      // The graph's route (no exact), the filter answered by the index: r1 leaves the filter in the gap.
      writeInGap(vaultOf(db), () => v.patch('r1', { set: { tag: 'b' } }));
      const graph = await v.search(origin, { k: 5, filter: { tag: 'a' } });
      for (const h of graph) assert.equal((h.payload as { tag: string }).tag, 'a', `${h.id}`);
      assert.ok(!graph.some((h) => h.id === 'r1'));
      // Vectors asked for: an erase in the gap must not fail the search, and no hit comes back
      // with another record's vector.
      writeInGap(vaultOf(db), () => v.erase('r3'));
      const withVectors = await v.search(origin, { k: 5, withVectors: true });
      assert.ok(!withVectors.some((h) => h.id === 'r3'));
      for (const h of withVectors) assert.deepEqual([...h.vector!], [...v.get(h.id)!.vector], h.id);
      writeInGap(vaultOf(db), () => v.erase('r5'));
      const mmr = await v.search(origin, { k: 5, mmr: true });
      assert.equal(mmr.length, 5);
      assert.ok(!mmr.some((h) => h.id === 'r5'));
    } finally {
      await db.close();
    }
  });
});
