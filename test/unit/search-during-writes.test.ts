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

/** Makes the vault's next vectorsLoaded() run `write` first (a write landing in a search's gap). */
function writeInGap(vault: VaultState, write: () => Promise<unknown>): void {
  const loaded = vault.vectorsLoaded.bind(vault);
  let once = true;
  vault.vectorsLoaded = async () => {
    if (once) {
      once = false;
      await write();
    }
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
});
