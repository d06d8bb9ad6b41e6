import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { WalWriter } from '../../src/wal/wal-writer.js';
import { writeLogGeneration } from '../../src/wal/wal-file.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { FaultFileSystem } from '../helpers/fault-fs.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

const vector = (n: number): number[] => [1, n, 0, 2];

describe('wal.log and power loss', () => {
  it('a paranoid write acknowledged in a brand-new database survives a power cut: creating wal.log is made durable by a directory fsync', async () => {
    const dir = dbPath();
    const ffs = new FaultFileSystem();
    const db = await open(dir, { dimension: 4, durability: 'paranoid', fs: ffs });
    await (await db.createVault('v')).insert('a', vector(1));
    ffs.powerLoss();
    await db.close().catch(() => undefined);
    const again = await open(dir);
    assert.deepEqual(again.vault('v').ids(), ['a']);
    await again.close();
  });

  it('a paranoid write acknowledged in a new session survives a power cut: the log generation is made durable by a directory fsync', async () => {
    const dir = dbPath();
    const first = await open(dir, { dimension: 4 });
    await (await first.createVault('v')).insert('a', vector(1));
    await first.close();

    for (const step of ['open', 'checkpoint'] as const) {
      const ffs = new FaultFileSystem();
      const db = await open(dir, { durability: 'paranoid', fs: ffs });
      // A new session starts a new log generation, and a checkpoint another: both by rename.
      if (step === 'checkpoint') await db.checkpoint();
      await db.vault('v').insert(`after-${step}`, vector(2));
      ffs.powerLoss();
      await db.close().catch(() => undefined);
      const again = await open(dir);
      assert.ok(again.vault('v').ids().includes(`after-${step}`), `acknowledged after ${step}, lost by the power cut: ${again.vault('v').ids()}`);
      await again.close();
    }
  });

  it('the log is written at explicit offsets, not with O_APPEND: bytes someone else appended are overwritten, not written after', async () => {
    const file = path.join(tmpDir(), 'wal.log');
    const generation = await writeLogGeneration(nodeFileSystem, file, 7, [], Buffer.alloc(0));
    const wal = WalWriter.open(nodeFileSystem, file, 'standard', generation, null);
    fs.appendFileSync(file, Buffer.alloc(64, 0xee));
    wal.append(2, 1, Buffer.from([0x80]));
    await wal.close();
    const scan = scanWal(fs.readFileSync(file));
    assert.equal(scan.frames.length, 1);
    assert.equal(scan.frames[0]!.offset, generation.size, 'the frame went where the writer meant it to');

    // The seam's 'create' mode is O_CREAT without O_APPEND too.
    const other = path.join(tmpDir(), 'f');
    fs.writeFileSync(other, 'xxxx');
    const fd = nodeFileSystem.openSync(other, 'create');
    nodeFileSystem.writeSync(fd, Buffer.from('ab'), 0);
    nodeFileSystem.closeSync(fd);
    assert.equal(fs.readFileSync(other, 'utf8'), 'abxx');
  });
});
