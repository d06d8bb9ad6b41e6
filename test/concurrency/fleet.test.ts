import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

const BATCH = 10;

describe('one writer and four reader processes', () => {
  it('readers never see a torn batch, never error, and end with exactly the acknowledged records', { timeout: 120_000 }, async () => {
    const dir = dbPath();
    const stop = path.join(tmpDir(), 'STOP');
    const readers = Array.from({ length: 4 }, () => spawnChild(['reader', dir, stop, String(BATCH)], 'fleet'));
    for (const reader of readers) await reader.waitFor((l) => l === 'started');
    const writer = spawnChild(['writer', dir, '4000', String(BATCH)], 'fleet');
    const done = await writer.waitFor((l) => l.startsWith('done '), 60_000);
    const [, lastBatch, , epoch] = done.split(' ');
    const acked = writer.lines.filter((l) => l.startsWith('acked ')).length;
    assert.equal(Number(lastBatch), acked - 1);
    assert.ok(Number(epoch) >= 2, `checkpoints happened during the run (epoch ${epoch})`);
    fs.writeFileSync(stop, '');
    for (const reader of readers) {
      const line = await reader.waitFor((l) => l.startsWith('{'), 60_000);
      const summary = JSON.parse(line) as { highest: number; refreshes: number; searches: number; errors: string[] };
      assert.deepEqual(summary.errors, []);
      assert.equal(summary.highest, acked - 1, 'after a final refresh the reader sees every acknowledged batch');
      assert.ok(summary.refreshes > 10 && summary.searches > 10, JSON.stringify(summary));
    }
    const db = await open(dir);
    assert.equal(db.vault('v').count(), acked * BATCH);
    await db.close();
  });
});
