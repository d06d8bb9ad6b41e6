import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

describe('a writer killed with SIGKILL mid-insert loses nothing it acknowledged', () => {
  for (const [durability, lanes] of [['standard', 1], ['standard', 8], ['paranoid', 1], ['paranoid', 16]] as const) {
    it(`${durability}, ${lanes} concurrent insert loop(s)`, async () => {
      const dir = dbPath();
      const child = spawnChild(['insert', dir, durability, String(lanes)]);
      await child.waitFor((l) => l === 'ready');
      await child.waitFor(() => child.lines.filter((l) => l.startsWith('ack ')).length >= 400, 60_000);
      await child.kill();
      const acked = child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      assert.ok(acked.length >= 400);

      // The dead writer's lock is taken over once stale (2 s here instead of the default 10 s).
      const db = await open(dir, { lockStaleMs: 2000 });
      const v = db.vault('v');
      const missing = acked.filter((n) => !v.has(`k${n}`));
      assert.deepEqual(missing, [], `acknowledged inserts missing after reopen`);
      for (const n of acked.slice(-20)) {
        const r = v.get(`k${n}`)!;
        assert.deepEqual(r.payload, { n, pad: 'x'.repeat(n % 50) });
        assert.equal(r.vector[0], Math.fround(Math.sin(n) + 1.5));
      }
      const stats = db.stats();
      assert.ok(stats.epoch >= 1, 'auto-checkpoints ran during the run');
      await db.close();
    });
  }
});
