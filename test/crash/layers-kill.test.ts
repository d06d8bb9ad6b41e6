import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

describe('a writer killed with SIGKILL during a layer commit loop', () => {
  for (const durability of ['standard', 'paranoid'] as const) {
    it(`${durability}: every acknowledged commit is present and branch heads agree with the layers`, { timeout: 120_000 }, async () => {
      const dir = dbPath();
      const child = spawnChild(['commits', dir, durability]);
      await child.waitFor((l) => l.startsWith('commit ') && Number(l.split(' ')[1]) >= 150, 60_000);
      await child.kill();
      const acked = child.lines.filter((l) => l.startsWith('commit ')).map((l) => l.split(' ')).map(([, n, id, branch]) => ({ n: Number(n), id: id!, branch: branch! }));
      const db = await open(dir, { lockStaleMs: 2000 });
      const v = db.vault('kb');
      for (const c of acked) {
        const layer = v.layers.get(c.id);
        assert.ok(layer, `layer ${c.id} (commit ${c.n}) is present`);
        assert.deepEqual(layer.meta, { n: c.n });
        assert.deepEqual(v.traces.get(`trace-${c.n}`)!.trace, { n: c.n, layer: c.id });
      }
      for (const branch of ['main', 'side']) {
        const head = v.branches.get(branch)!.head!;
        assert.ok(v.layers.get(head), `${branch} head ${head} exists`);
        const chain = v.layers.log(branch);
        assert.ok(chain.every((l) => l.branch === branch), `${branch}'s chain holds only its own commits`);
        const lastAcked = acked.filter((c) => c.branch === branch).at(-1)!;
        assert.ok(Number(head.slice(1)) >= Number(lastAcked.id.slice(1)), `${branch} head is at or after its last acknowledged commit`);
        assert.deepEqual(v.layers.resolve(`urn:${lastAcked.n}`, { branch }), { n: lastAcked.n });
      }
      assert.ok(db.stats().epoch >= 1, 'checkpoints happened during the loop');
      await db.close();
    });
  }
});
