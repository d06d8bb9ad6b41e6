import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type Database } from '../../src/index.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { findSection } from '../../src/format/sectioned-file.js';
import { SectionKind } from '../../src/format/constants.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';
import { dbPath, fingerprint, tmpDir, vectors } from '../helpers/tmp.js';

// Segments with a VECTORS section, as builds before "vectors stored once" wrote them for every
// vault and this build still writes when asked (FORMAT.md "Segment files"): what these tests pin.
process.env.QUIVER_SEGMENT_VECTORS = '1';

// A segment's vector section is not read by open: the vault's block reads it in the background
// once the database is open and checks its section CRC before any vector is used, and before
// any search answers unless the database was opened with verify: 'lazy' (FORMAT.md "Segment
// files", README "Verification"). Damage the check finds fails the handle: every call raises
// CorruptionError naming the segment. These tests pin what that promises.

const DIM = 8;
const data = vectors(60, DIM, 5);

async function checkpointed(): Promise<{ dir: string; segment: string }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM });
  const v = await db.createVault('v');
  await v.insertMany(data.map((vector, i) => ({ id: `r${i}`, vector, payload: { i } })));
  await db.checkpoint();
  await db.close();
  const name = fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.segment'))!;
  return { dir, segment: path.join(dir, 'segments', name) };
}

async function vectorSection(file: string): Promise<{ at: number; length: number }> {
  const bytes = fs.readFileSync(file);
  const found = await findSection(async (at, n) => bytes.subarray(at, at + n), bytes.byteLength, 'segment', file, SectionKind.vectors);
  assert.ok(found && found.length === data.length * DIM * 4);
  return found;
}

/** Descriptors of this process open on `file` (Linux /proc). */
function openDescriptors(file: string): number {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
    } catch {
      return false;
    }
  }).length;
}

/** A filesystem whose async reads of `file`'s vector section wait until `release()`. */
async function gatedReads(file: string): Promise<{ fs: typeof nodeFileSystem; release: () => void }> {
  const section = await vectorSection(file);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const gated = new Set<number>();
  const fsGated = overlay(nodeFileSystem, {
    openSync(p, mode) {
      const fd = nodeFileSystem.openSync(p, mode);
      if (p === file) gated.add(fd);
      return fd;
    },
    async read(fd, into, position) {
      // Open's reads of the segment go through; the block's read of the vectors waits.
      if (gated.has(fd) && position === section.at) await gate;
      return nodeFileSystem.read(fd, into, position);
    },
  });
  return { fs: fsGated, release };
}

describe("a segment's vector section, read after open", () => {
  it('get() right after open reads it at once; exact search waits for it; both give the stored vectors', async () => {
    const { dir, segment } = await checkpointed();
    const { fs: slow, release } = await gatedReads(segment);
    const db = await open(dir, { fs: slow });
    const v = db.vault('v');
    assert.deepEqual([...v.get('r7')!.vector], [...data[7]!], 'a synchronous read while the background one waits');
    const exact = v.search(data[3]!, { k: 1, exact: true });
    release();
    assert.equal((await exact)[0]!.id, 'r3');
    await db.close();
    assert.equal(openDescriptors(segment), 0, 'the block closed its file');
  });

  it('holds its file open: a segment unlinked after open (a writer checkpointing past a reader) is still read', async () => {
    const { dir, segment } = await checkpointed();
    const { fs: slow, release } = await gatedReads(segment);
    const db = await open(dir, { readOnly: true, fs: slow });
    fs.rmSync(segment);
    release();
    const hits = await db.vault('v').search(data[11]!, { k: 1, exact: true });
    assert.equal(hits[0]!.id, 'r11');
    assert.deepEqual([...db.vault('v').get('r11')!.vector], [...data[11]!]);
    await db.close();
  });

  it('close waits for a read in flight and leaves no file open; so does an open that fails', async () => {
    const { dir, segment } = await checkpointed();
    const { fs: slow, release } = await gatedReads(segment);
    const db = await open(dir, { fs: slow });
    assert.equal(openDescriptors(segment), 1, 'the block holds the segment while its read waits');
    let closed = false;
    const closing = db.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(closed, false, 'close waits for the read');
    release();
    await closing;
    assert.equal(openDescriptors(segment), 0);

    // A damaged graph fails the open after the segment was read: its block's file is closed.
    const graph = segment.replace(/\.segment$/, '.hnsw');
    const bytes = fs.readFileSync(graph);
    bytes[bytes.byteLength - 5]! ^= 0x01;
    fs.writeFileSync(graph, bytes);
    await assert.rejects(open(dir), CorruptionError);
    await assert.rejects(open(dir, { readOnly: true }), CorruptionError);
    assert.equal(openDescriptors(segment), 0, 'no descriptor left by the failed opens');
  });

  /** A checkpointed database with one byte of its vector section flipped; `heal()` flips it back. */
  async function damaged(): Promise<{ dir: string; segment: string; named: (err: unknown) => boolean; heal: () => void }> {
    const { dir, segment } = await checkpointed();
    const { at, length } = await vectorSection(segment);
    const bytes = fs.readFileSync(segment);
    const flip = () => {
      bytes[at + Math.floor(length / 2)]! ^= 0x10;
      fs.writeFileSync(segment, bytes);
    };
    flip();
    const named = (err: unknown) => err instanceof CorruptionError && path.join(dir, err.file) === segment;
    return { dir, segment, named, heal: flip };
  }

  /** Every call a user can make on `db` after it failed: each raises CorruptionError naming the segment. */
  async function everyCallRaises(db: Database, named: (err: unknown) => boolean): Promise<void> {
    assert.equal(db.status, 'failed');
    const v = db.vault.bind(db);
    assert.throws(() => v('v'), named, 'vault()');
    assert.throws(() => db.vaults(), named, 'vaults()');
    assert.throws(() => db.stats(), named, 'stats()');
    assert.throws(() => db.identity, named, 'identity');
    await assert.rejects(db.createVault('w'), named, 'createVault()');
    await assert.rejects(db.checkpoint(), named, 'checkpoint()');
    await assert.rejects(db.export(path.join(tmpDir(), 'x')), named, 'export()');
  }

  it('damage in it (default verify): the first search waits for the check and raises; the handle is failed and every call raises CorruptionError naming the segment; nothing changes', async () => {
    const { dir, segment, named, heal } = await damaged();
    const before = fingerprint(dir);

    const db = await open(dir);
    const v = db.vault('v');
    // Graph-only searches (vector, with or without a filter) never answer over unchecked vectors.
    await assert.rejects(v.search(data[0]!, { k: 5 }), named, 'a graph search raises, it does not answer');
    await everyCallRaises(db, named);
    await assert.rejects(v.search(data[0]!, { k: 5 }), named);
    assert.throws(() => v.get('r0'), named);
    assert.throws(() => v.count(), named);
    await assert.rejects(v.insert('new', data[0]!), named, 'no write on top of damaged vectors');
    await db.close();
    assert.equal(db.status, 'closed');
    assert.deepEqual(fingerprint(dir), before, 'nothing on disk changed');

    // A handle that used get() before the check finished fails too.
    const early = await open(dir);
    assert.throws(() => early.vault('v').get('r0'), named);
    for (let i = 0; i < 500 && early.status === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await everyCallRaises(early, named);
    await early.close();

    const reader = await open(dir, { readOnly: true });
    await assert.rejects(reader.vault('v').search(data[1]!, { k: 3 }), named);
    await everyCallRaises(reader, named);
    await reader.close();
    const report = await checkDatabase(dir);
    assert.ok(report.problems.some((p) => path.join(dir, p.file) === segment), JSON.stringify(report.problems));
    assert.deepEqual(fingerprint(dir), before, 'nothing on disk changed');

    heal();
    const healed = await open(dir);
    assert.equal((await healed.vault('v').search(data[30]!, { k: 1 }))[0]!.id, 'r30');
    assert.deepEqual([...healed.vault('v').get('r30')!.vector], [...data[30]!], 'restoring the byte restores the vectors');
    await healed.vault('v').insert('new', data[1]!);
    await healed.close();
  });

  it("default verify: a search issued while the check runs waits for it; verify: 'lazy' answers from the graph meanwhile, and the handle still fails once the check finds the damage", async () => {
    const { dir, segment, named } = await damaged();
    for (const verify of [undefined, 'full'] as const) {
      const { fs: slow, release } = await gatedReads(segment);
      const db = await open(dir, { fs: slow, ...(verify ? { verify } : {}) });
      let settled = false;
      const search = db.vault('v').search(data[0]!, { k: 5 }).finally(() => (settled = true));
      search.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(settled, false, 'the search waits for the vectors to be checked');
      release();
      await assert.rejects(search, named);
      assert.equal(db.status, 'failed');
      await db.close();
    }

    const { fs: slow, release } = await gatedReads(segment);
    const lazy = await open(dir, { fs: slow, verify: 'lazy' });
    const lv = lazy.vault('v');
    assert.equal((await lv.search(data[0]!, { k: 5 })).length, 5, "'lazy': the graph answers before the vectors are checked");
    release();
    for (let i = 0; i < 500 && lazy.status === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await assert.rejects(lv.search(data[0]!, { k: 5 }), named, "'lazy': once the check finds the damage, searches raise too");
    await everyCallRaises(lazy, named);
    await lazy.close();

    // On an undamaged database both modes answer the same.
    const clean = await checkpointed();
    for (const verify of ['full', 'lazy'] as const) {
      const db = await open(clean.dir, { verify });
      assert.deepEqual((await db.vault('v').search(data[9]!, { k: 3 })).map((h) => h.id)[0], 'r9');
      await db.close();
    }
    await assert.rejects(open(clean.dir, { verify: 'sometimes' as never }), /verify/);
  });

  it("close() while the check of damaged vectors is still reading reports the CorruptionError itself, not an I/O error", async () => {
    const { dir, segment, named } = await damaged();
    for (const readOnly of [false, true]) {
      const { fs: slow, release } = await gatedReads(segment);
      const db = await open(dir, { fs: slow, verify: 'lazy', readOnly });
      const closing = db.close();
      release();
      await assert.rejects(closing, named, `${readOnly ? 'a reader' : 'the writer'}: close() raises CorruptionError naming the segment`);
      assert.equal(db.status, 'closed');
      assert.equal(openDescriptors(segment), 0, 'no descriptor left on the segment');
    }
  });
});
