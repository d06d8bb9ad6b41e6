import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
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

/**
 * Runs `search` with writes landing in its gaps: its first `times` calls of vault.vectorsLoaded()
 * (where a search awaits between planning and answering) each run `write(i)` first, and all
 * `times` must land. Only the search's own calls count: the database's background check of its
 * stored vectors, started at open on a later turn of the event loop, calls vectorsLoaded() too,
 * and whether that turn comes before or during the search is timing (it would take a write
 * before the search has planned, and the search's last gap would go without one).
 */
async function withWritesInGaps<T>(vault: VaultState, write: (i: number) => Promise<unknown>, search: () => Promise<T>, times = 1): Promise<T> {
  const loaded = vault.vectorsLoaded;
  const inSearch = new AsyncLocalStorage<true>();
  let done = 0;
  vault.vectorsLoaded = async () => {
    if (inSearch.getStore() && done < times) await write(done++);
    return loaded.call(vault);
  };
  try {
    const result = await inSearch.run(true, search);
    assert.equal(done, times, `only ${done} of ${times} writes found a gap in the search`);
    return result;
  } finally {
    vault.vectorsLoaded = loaded;
  }
}

describe('a search with a write landing inside it', () => {
  for (const index of ['hnsw', 'flat'] as const) {
    it(`answers from one state of the vault (${index})`, async () => {
      const db = await open(dbPath(), { dimension: DIM, metric: 'l2', index: { type: index } });
      try {
        const v = await db.createVault('v');
        await v.insertMany(Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, vector: Float32Array.from([i, 0, 0, 0]), payload: { tag: 'a' } })));
        // The filter matched r0 when the search planned; the patch moves it out before the scan.
        const hits = await withWritesInGaps(vaultOf(db), () => v.patch('r0', { set: { tag: 'b' } }), () => v.search(Float32Array.from([0, 0, 0, 0]), { k: 3, exact: true, filter: { tag: 'a' } }));
        for (const h of hits) assert.equal((h.payload as { tag: string }).tag, 'a', `${h.id} is returned with a payload the filter rejects`);
        assert.deepEqual(hits.map((h) => h.id), ['r1', 'r2', 'r3']);
        // An upsert in the gap moves r1 away: it is scored where it is now, not where it was.
        const again = await withWritesInGaps(vaultOf(db), () => v.insert('r1', Float32Array.from([40, 0, 0, 0]), { tag: 'a' }), () => v.search(Float32Array.from([0, 0, 0, 0]), { k: 3, exact: true, filter: { tag: 'a' } }));
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
      // Every try loses r<i> to the filter, and in the last gap (the scan of the third and last
      // try) r4, a match when that try planned, leaves the filter and r7, a match, moves far away.
      const last = async (): Promise<void> => {
        await v.patch('r4', { set: { tag: 'b' } });
        await v.insert('r7', Float32Array.from([100, 0, 0, 0]), { tag: 'a' });
      };
      const hits = await withWritesInGaps(vaultOf(db), (i) => (i < 4 ? v.patch(`r${i}`, { set: { tag: 'b' } }) : last()), () => v.search(Float32Array.from([0, 0, 0, 0]), { k: 6, exact: true, filter: { tag: 'a' } }), 5);
      for (const h of hits) assert.equal((h.payload as { tag: string }).tag, 'a', `${h.id} is returned with a payload the filter rejects`);
      assert.ok(!hits.some((h) => h.id === 'r4'), 'r4 left the filter in the last gap');
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
      const graph = await withWritesInGaps(vaultOf(db), () => v.patch('r1', { set: { tag: 'b' } }), () => v.search(origin, { k: 5, filter: { tag: 'a' } }));
      for (const h of graph) assert.equal((h.payload as { tag: string }).tag, 'a', `${h.id}`);
      assert.ok(!graph.some((h) => h.id === 'r1'));
      // Vectors asked for: an erase in the gap must not fail the search, and no hit comes back
      // with another record's vector.
      const withVectors = await withWritesInGaps(vaultOf(db), () => v.erase('r3'), () => v.search(origin, { k: 5, withVectors: true }));
      assert.ok(!withVectors.some((h) => h.id === 'r3'));
      for (const h of withVectors) assert.deepEqual([...h.vector!], [...v.get(h.id)!.vector], h.id);
      const mmr = await withWritesInGaps(vaultOf(db), () => v.erase('r5'), () => v.search(origin, { k: 5, mmr: true }));
      assert.equal(mmr.length, 5);
      assert.ok(!mmr.some((h) => h.id === 'r5'));
    } finally {
      await db.close();
    }
  });
});
