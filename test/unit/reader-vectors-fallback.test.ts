import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

/**
 * Without the native addon (QUIVER_NATIVE=0, or not built), a reader reads each segment's vectors
 * into a private copy, as before #19's mapped vectors: nothing of the database is mapped, and the
 * answers are the writer's. A refresh past a checkpoint and close() work the same.
 */

const DIM = 8;
const vectorOf = (i: number): number[] => Array.from({ length: DIM }, (_, j) => Math.cos(i * 0.61 + j));

const mapped = (dir: string): string[] => (process.platform === 'linux' ? fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(path.join(dir, 'segments'))) : []);

describe('a reader without the native addon', () => {
  it('reads its vectors privately, maps nothing, and answers as the writer does', async () => {
    const before = process.env.QUIVER_NATIVE;
    process.env.QUIVER_NATIVE = '0';
    try {
      const dir = dbPath();
      const writer = await open(dir, { dimension: DIM, metric: 'l2', index: { type: 'hnsw', M: 8, efConstruction: 40 } });
      const v = await writer.createVault('v');
      await v.insertMany(Array.from({ length: 400 }, (_, i) => ({ id: `r${i}`, vector: vectorOf(i) })));
      await writer.checkpoint();
      const reader = await open(dir, { readOnly: true, refreshIntervalMs: 0 });
      const same = async (i: number) => {
        const q = vectorOf(i);
        assert.deepEqual(await reader.vault('v').search(q, { k: 5, exact: true }), await writer.vault('v').search(q, { k: 5, exact: true }));
        assert.deepEqual(reader.vault('v').get(`r${i}`)?.vector, writer.vault('v').get(`r${i}`)?.vector);
      };
      for (const i of [0, 17, 399]) await same(i);
      const state = (reader as unknown as { parts: { state: { vaults: Map<number, { stored: { mapped: boolean } | null }> } } }).parts.state;
      assert.equal([...state.vaults.values()][0]!.stored!.mapped, false);
      assert.deepEqual(mapped(dir), [], 'nothing of the database is mapped');
      await v.insert('late', vectorOf(1000));
      await v.erase('r17');
      await writer.checkpoint();
      await reader.refresh();
      for (const i of [17, 1000, 5]) assert.deepEqual(await reader.vault('v').search(vectorOf(i), { k: 3, exact: true }), await writer.vault('v').search(vectorOf(i), { k: 3, exact: true }));
      assert.deepEqual(mapped(dir), []);
      await reader.close();
      await writer.close();
    } finally {
      if (before === undefined) delete process.env.QUIVER_NATIVE;
      else process.env.QUIVER_NATIVE = before;
    }
  });
});
