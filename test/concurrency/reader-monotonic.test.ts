import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/index.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';
import { dbPath } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

/** `npm run soak:fence` sets this: opens beside a writer process (statistical, so not in npm test). */
const OPENS = Number(process.env.READER_OPENS ?? 0);
const vector = (n: number): number[] => [1, n, 2, 3];

describe('a fresh read-only open never goes backwards', () => {
  it('a checkpoint that commits and empties the log between the reader reading the manifest and reading the log', async () => {
    const dir = dbPath();
    const writer = await open(dir, { dimension: 4 });
    const v = await writer.createVault('v');
    for (let n = 0; n < 5; n++) await v.insert(`r${n}`, vector(n));
    await writer.checkpoint();
    for (let n = 5; n < 8; n++) await v.insert(`r${n}`, vector(n));

    const first = await open(dir, { readOnly: true });
    assert.equal(first.vault('v').count(), 8);
    await first.close();

    // The second reader has read quiver.manifest (epoch 1) and its segment when, just before it
    // reads wal.log, the writer writes one more record and checkpoints (epoch 2, log emptied).
    let raced = false;
    const fs = overlay(nodeFileSystem, {
      async readFile(file) {
        if (file.endsWith('wal.log') && !raced) {
          raced = true;
          await v.insert('r8', vector(8));
          await writer.checkpoint();
        }
        return nodeFileSystem.readFile(file);
      },
    });
    const second = await open(dir, { readOnly: true, fs });
    assert.ok(raced);
    assert.ok(second.vault('v').count() >= 8, `the second open saw ${second.vault('v').count()} records, the first had seen 8`);
    assert.equal(second.vault('v').count(), 9);
    await second.close();
    await writer.close();
  });

  it(`each of ${OPENS} opens beside a writer process that checkpoints every few records sees at least what the one before saw`, { skip: OPENS === 0 ? 'soak only (READER_OPENS)' : false, timeout: 1_800_000 }, async () => {
    const dir = dbPath();
    await (await open(dir, { dimension: 8 })).close();
    // Inserts forever, checkpointing every 16 KiB of log (a few dozen records).
    const writer = spawnChild(['insert', dir, 'standard', '1']);
    try {
      await writer.waitFor((l) => l.startsWith('ack 50'));
      let seen = 0;
      const epochs = new Set<number>();
      for (let i = 0; i < OPENS; i++) {
        const reader = await open(dir, { readOnly: true });
        const count = reader.vault('v').count();
        epochs.add(reader.stats().epoch);
        await reader.close();
        assert.ok(count >= seen, `open ${i} saw ${count} records, an earlier open had seen ${seen}`);
        seen = count;
      }
      assert.ok(epochs.size > 5, `the writer checkpointed while the readers opened (${epochs.size} epochs seen)`);
    } finally {
      await writer.kill();
    }
  });
});
