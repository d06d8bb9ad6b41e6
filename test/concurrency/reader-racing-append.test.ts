/**
 * A reader's read of wal.log can race the writer: one read of the file is several read(2)
 * calls, and a checkpoint that empties the log in place (then new appends) between two of them
 * gives the old log's first part followed by the new log's frames: damage followed by a valid
 * record, under a root that did not change. Seen by the four-reader test under load. A reader
 * looks again before it calls that corruption; damage that stays is still CorruptionError.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { open, CorruptionError } from '../../src/index.js';
import { nodeFileSystem, type FileSystem } from '../../src/fs/file-system.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { dbPath } from '../helpers/tmp.js';

/** A filesystem whose first `times` reads of wal.log show the second-to-last record zeroed. */
function holeyReads(times: number): FileSystem & { holes: number } {
  const fs = Object.create(nodeFileSystem) as FileSystem & { holes: number };
  fs.holes = 0;
  fs.readFile = async (p: string) => {
    const bytes = await nodeFileSystem.readFile(p);
    if (path.basename(p) !== 'wal.log' || fs.holes >= times) return bytes;
    const frames = scanWal(bytes).frames;
    const victim = frames.at(-2)!;
    const copy = Buffer.from(bytes);
    copy.fill(0, victim.offset, victim.offset + 12);
    fs.holes++;
    return copy;
  };
  return fs;
}

async function writerWithLog(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 2 });
  const v = await db.createVault('v');
  for (let i = 0; i < 5; i++) await v.insert(`r${i}`, [1, i + 1]);
  await db.close();
  return dir;
}

describe('a reader racing the writer\'s appends', () => {
  it('looks again when damage is followed by a valid record, and opens to the whole log', async () => {
    const dir = await writerWithLog();
    const fs = holeyReads(1);
    const reader = await open(dir, { readOnly: true, fs });
    assert.equal(fs.holes, 1, 'the reader saw the hole once');
    assert.equal(reader.vault('v').count(), 5);
    await reader.close();
  });

  it('damage that stays across looks is still CorruptionError', async () => {
    const dir = await writerWithLog();
    await assert.rejects(open(dir, { readOnly: true, fs: holeyReads(Infinity) }), CorruptionError);
  });
});
