/**
 * A vault checkpointed while empty saves a graph of capacity 0; after a reopen, the first
 * inserts must grow it (they used to resize it to 0: hnswlib failed to allocate, the background
 * insertion raised an unhandled rejection and the process died). Found by the soak.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

describe('a graph saved empty', () => {
  for (const storage of ['segmented', 'snapshot'] as const) {
    it(`grows on the first inserts after a reopen (${storage})`, async () => {
      const dir = dbPath();
      let db = await open(dir, { dimension: 4, storage });
      await db.createVault('e');
      await db.checkpoint();
      await db.close();
      db = await open(dir);
      const v = db.vault('e');
      for (let i = 0; i < 5; i++) await v.insert(`k${i}`, [1, 2, 3, i + 1]);
      await db.settle();
      assert.deepEqual((await v.search([1, 2, 3, 1], { k: 2 })).map((h) => h.id), ['k0', 'k1']);
      await db.checkpoint();
      await db.close();
      db = await open(dir);
      assert.equal(db.vault('e').count(), 5);
      await db.close();
    });
  }
});
