import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError } from '../../src/index.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { WAL_HEADER_SIZE } from '../../src/format/constants.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { dbPath, fingerprint, tmpDir } from '../helpers/tmp.js';

const RECORDS = 6;

/** A database whose log holds: vault create, then RECORDS inserts. Returns its frame offsets. */
async function makeSource(): Promise<{ dir: string; starts: number[]; end: number }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 4 });
  const v = await db.createVault('v');
  for (let i = 0; i < RECORDS; i++) await v.insert(`r${i}`, [i + 1, 1, 0, 0], { i, text: `record number ${i}` });
  await db.close();
  const wal = fs.readFileSync(path.join(dir, 'wal.log'));
  const scan = scanWal(wal);
  assert.equal(scan.frames.length, RECORDS + 1);
  assert.equal(scan.dropped, null);
  return { dir, starts: scan.frames.map((f) => f.offset), end: wal.byteLength };
}

function copyOf(source: string): string {
  const dir = path.join(tmpDir(), 'db');
  fs.cpSync(source, dir, { recursive: true });
  return dir;
}

function walOf(dir: string): Buffer {
  return fs.readFileSync(path.join(dir, 'wal.log'));
}

async function ids(dir: string, options = {}): Promise<{ ids: string[]; recovery: unknown }> {
  const db = await open(dir, options);
  const out = { ids: db.vault('v').ids(), recovery: db.stats().recovery };
  await db.close();
  return out;
}

const prefix = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);

describe('WAL byte surgery', () => {
  let src: { dir: string; starts: number[]; end: number };
  before(async () => {
    src = await makeSource();
  });

  it('truncating at every byte offset inside the last record keeps exactly the records before it and reports the dropped bytes', async () => {
    const last = src.starts[RECORDS]!;
    for (let cut = last + 1; cut < src.end; cut++) {
      const dir = copyOf(src.dir);
      fs.truncateSync(path.join(dir, 'wal.log'), cut);
      const { ids: got, recovery } = await ids(dir);
      assert.deepEqual(got, prefix(RECORDS - 1), `cut at ${cut}`);
      const dropped = (recovery as { dropped: { offset: number; bytes: number; reason: string } }).dropped;
      assert.equal(dropped.offset, last);
      assert.equal(dropped.bytes, cut - last);
      assert.ok(['truncated_header', 'truncated_body'].includes(dropped.reason), dropped.reason);
      assert.equal(fs.statSync(path.join(dir, 'wal.log')).size, last, 'the writer truncated the torn tail');
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it('flipping any byte of the last record drops just that record', async () => {
    const last = src.starts[RECORDS]!;
    const reasons = new Set<string>();
    for (let at = last; at < src.end; at++) {
      const dir = copyOf(src.dir);
      const wal = walOf(dir);
      wal[at] = wal[at]! ^ 0x5a;
      fs.writeFileSync(path.join(dir, 'wal.log'), wal);
      const { ids: got, recovery } = await ids(dir);
      assert.deepEqual(got, prefix(RECORDS - 1), `flip at ${at}`);
      const dropped = (recovery as { dropped: { offset: number; bytes: number; reason: string } }).dropped;
      assert.deepEqual([dropped.offset, dropped.bytes], [last, src.end - last]);
      reasons.add(dropped.reason);
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
    assert.ok(reasons.has('checksum_mismatch'));
  });

  it('a flipped byte in the middle, followed by valid records, is corruption: open fails and touches nothing', async () => {
    const dir = copyOf(src.dir);
    const victim = src.starts[3]!;
    const wal = walOf(dir);
    wal[victim + 25] = wal[victim + 25]! ^ 0xff;
    fs.writeFileSync(path.join(dir, 'wal.log'), wal);
    const before = fingerprint(dir);
    await assert.rejects(open(dir), (err: unknown) => err instanceof CorruptionError && err.file === 'wal.log' && err.offset === victim && /salvage/.test(err.message));
    assert.deepEqual(fingerprint(dir), before);
    const report = await checkDatabase(dir);
    assert.equal(report.ok, false);
    assert.equal(report.problems[0]!.offset, victim);

    const salvaged = await ids(dir, { recovery: 'salvage' });
    assert.deepEqual(salvaged.ids, prefix(2));
    const rec = salvaged.recovery as { salvagedTo: string; dropped: { offset: number; bytes: number } };
    assert.equal(rec.dropped.offset, victim);
    assert.equal(rec.dropped.bytes, src.end - victim);
    assert.match(rec.salvagedTo, /^wal\.log\.salvaged-\d+-\d+$/);
    const aside = fs.readFileSync(path.join(dir, rec.salvagedTo));
    assert.deepEqual(aside, wal.subarray(victim), 'the bytes after the damage are kept aside, not deleted');
    assert.equal(fs.statSync(path.join(dir, 'wal.log')).size, victim);
    assert.deepEqual((await ids(dir)).ids, prefix(2), 'the salvaged database opens normally');
  });

  it('a torn log header (crash while creating a version 1 log) is rewritten; a damaged one is corruption', async () => {
    // Only a database from before the root recorded its log can have one: this build creates
    // every log generation whole (tmp, fsync, rename). With the record, a torn log is corruption.
    const recorded = copyOf(src.dir);
    fs.truncateSync(path.join(recorded, 'wal.log'), 7);
    await assert.rejects(open(recorded), (err: unknown) => err instanceof CorruptionError && err.file === 'wal.log');
    const dir = copyOf(src.dir);
    fs.rmSync(path.join(dir, 'quiver.manifest'));
    fs.writeFileSync(path.join(dir, 'wal.log'), Buffer.from('5156574c010000', 'hex'));
    const db = await open(dir);
    assert.deepEqual(db.vaults(), []);
    await db.close();
    assert.equal(fs.statSync(path.join(dir, 'wal.log')).size, WAL_HEADER_SIZE);
    const bad = copyOf(src.dir);
    const wal = walOf(bad);
    wal[1] = 0;
    fs.writeFileSync(path.join(bad, 'wal.log'), wal);
    await assert.rejects(open(bad), (err: unknown) => err instanceof CorruptionError && err.file === 'wal.log' && err.offset === 0);
  });

  it('garbage appended after the last record is a torn tail', async () => {
    const dir = copyOf(src.dir);
    fs.appendFileSync(path.join(dir, 'wal.log'), Buffer.alloc(100, 0));
    const { ids: got, recovery } = await ids(dir);
    assert.deepEqual(got, prefix(RECORDS));
    assert.equal((recovery as { dropped: { bytes: number } }).dropped.bytes, 100);
  });
});
