/**
 * Object storage under log version 2, without a server: the shipper's log tail follows wal.log
 * across log generations (a new salt at every checkpoint and writer open), and a log chunk
 * (version 2) carries the log id and salt its frames validate with (FORMAT.md "Object storage:
 * log chunks"). The object-storage suite (test/object-store) covers the same against radosgw.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptionError, open } from '../../src/index.js';
import { crc32c } from '../../src/format/crc.js';
import { FRAME_HEADER_SIZE } from '../../src/format/constants.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { frameCrc, resealFrame } from '../../src/wal/frame.js';
import { readFrames } from '../../src/wal/wal-reader.js';
import { checkChunkLog, decodeChunk, encodeChunk } from '../../src/replica/layout.js';
import { LogTail, type PendingFrame } from '../../src/replica/log-tail.js';
import { fuzz, mutated, TRIALS } from '../helpers/fuzz.js';
import { dbPath } from '../helpers/tmp.js';

async function insertSome(db: Awaited<ReturnType<typeof open>>, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) await db.vault('v').insert(`r${i}`, [i, 1]);
}

/** Frames a real writer left, taken by a LogTail across a checkpoint and a reopen. */
async function followedFrames(): Promise<{ frames: PendingFrame[]; dir: string }> {
  const dir = dbPath();
  let db = await open(dir, { dimension: 2 });
  await db.createVault('v'); // LSN 1
  await insertSome(db, 0, 4); // 2..5
  const tail = new LogTail(nodeFileSystem, dir);
  await tail.read();
  await db.checkpoint(); // a new, empty generation
  await insertSome(db, 4, 5); // 6..10
  await tail.read();
  await db.close();
  db = await open(dir); // a new generation carrying 6..10 re-sealed
  await insertSome(db, 9, 5); // 11..15
  await tail.read();
  await db.close();
  return { frames: tail.pending, dir };
}

const lsnOf = (f: PendingFrame): number => Number(f.bytes.readBigUInt64LE(12));

describe('log chunks and the log tail under log version 2', () => {
  it('the log tail follows wal.log across a checkpoint and a reopen: every LSN once, in order, each frame valid under its own generation', async () => {
    const { frames, dir } = await followedFrames();
    assert.deepEqual(frames.map(lsnOf), Array.from({ length: 15 }, (_, i) => i + 1));
    const logId = decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).record!.logId;
    const salts = [...new Set(frames.map((f) => f.salt))];
    assert.equal(salts.length, 3, 'three generations: the first session, after the checkpoint, after the reopen');
    for (const f of frames) {
      assert.equal(f.logId, logId);
      const { frames: parsed, stop } = readFrames(f.bytes, 0, 0, f.salt);
      assert.equal(stop, null);
      assert.equal(parsed.length, 1);
    }
    // The frames after the checkpoint were taken from the generation they were written in, not the reopen's copy.
    assert.equal(frames[5]!.salt, frames[9]!.salt);
    assert.notEqual(frames[9]!.salt, frames[10]!.salt);
  });

  it('a chunk carries its generation: it decodes whole with its salt, and the same frames under another salt are corruption', async () => {
    const { frames } = await followedFrames();
    const gen = frames.slice(10); // one generation: LSNs 11..15
    const source = { logId: gen[0]!.logId, salt: gen[0]!.salt };
    const bytes = encodeChunk(gen.map((f) => f.bytes), 11, 15, 1234, source);
    assert.equal(bytes.readUInt32LE(4), 2);
    const chunk = decodeChunk(bytes, 'c');
    assert.deepEqual([chunk.logId, chunk.salt, chunk.firstLsn, chunk.lastLsn, chunk.time], [source.logId, source.salt, 11, 15, 1234]);
    assert.deepEqual(chunk.body, Buffer.concat(gen.map((f) => f.bytes)), 'frames byte for byte as wal.log holds them');
    // Another salt in an otherwise valid header: every CRC of the chunk itself matches, the frames' do not.
    const other = encodeChunk(gen.map((f) => f.bytes), 11, 15, 1234, { logId: source.logId, salt: (source.salt! ^ 1) >>> 0 || 7 });
    assert.throws(() => decodeChunk(other, 'other'), (err: unknown) => err instanceof CorruptionError && /checksum_mismatch/.test(err.message));
    // Frames of two generations in one chunk never validate: the shipper cuts a chunk per generation.
    const mixed = encodeChunk(frames.slice(8, 12).map((f) => f.bytes), 9, 12, 1, { logId: frames[8]!.logId, salt: frames[8]!.salt });
    assert.throws(() => decodeChunk(mixed, 'mixed'), CorruptionError);
    // A chunk of another log is refused by a replica or a restore whose checkpoint records this one.
    assert.throws(() => checkChunkLog(chunk, (source.logId! + 1) >>> 0, 'c'), (err: unknown) => err instanceof CorruptionError && err.file === 'c');
    checkChunkLog(chunk, source.logId, 'c');
    checkChunkLog(chunk, null, 'c');
  });

  it('a version 1 chunk (48-byte header, unseeded frames) from an earlier build still decodes', async () => {
    const { frames } = await followedFrames();
    const unseeded = frames.slice(0, 3).map((f) => {
      const b = Buffer.from(f.bytes);
      b.writeUInt32LE(frameCrc(b, b.byteLength - FRAME_HEADER_SIZE, null), 4);
      return b;
    });
    const body = Buffer.concat(unseeded);
    const header = Buffer.alloc(48);
    header.write('QVWC', 0, 'latin1');
    header.writeUInt32LE(1, 4);
    header.writeBigUInt64LE(1n, 8);
    header.writeBigUInt64LE(3n, 16);
    header.writeUInt32LE(3, 24);
    header.writeUInt32LE(body.byteLength, 28);
    header.writeBigUInt64LE(99n, 32);
    header.writeUInt32LE(crc32c(body), 40);
    header.writeUInt32LE(crc32c(header.subarray(0, 44)), 44);
    const chunk = decodeChunk(Buffer.concat([header, body]), 'v1');
    assert.deepEqual([chunk.logId, chunk.salt, chunk.frames.length, chunk.time], [null, null, 3, 99]);
    // Re-sealed under a salt, those frames are a version 2 chunk's.
    const salt = 0x1234abcd;
    assert.equal(decodeChunk(encodeChunk(unseeded.map((f) => resealFrame(f, salt)), 1, 3, 99, { logId: 5, salt }), 'v2').frames.length, 3);
  });

  it('random and mutated chunks give CorruptionError, never another exception', async () => {
    const { frames } = await followedFrames();
    const samples = [encodeChunk(frames.slice(0, 5).map((f) => f.bytes), 1, 5, 7, { logId: frames[0]!.logId, salt: frames[0]!.salt }), encodeChunk(frames.slice(10).map((f) => f.bytes), 11, 15, 8, { logId: frames[10]!.logId, salt: frames[10]!.salt })];
    assert.deepEqual(fuzz(18, TRIALS, mutated(samples), (b) => decodeChunk(Buffer.from(b), 'fuzzed')), []);
  });
});
