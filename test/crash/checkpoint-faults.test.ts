import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, StorageError, type OpenOptions } from '../../src/index.js';
import { FaultFileSystem, InjectedFault } from '../helpers/fault-fs.js';
import { overlay } from '../../src/fs/file-system.js';
import { decodeManifest, vaultFiles } from '../../src/segments/manifest.js';
import { graphLag } from '../../src/engine/maintenance/checkpoint-files.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';
import { dump, type Dump } from '../helpers/state.js';

/** A database with a checkpoint behind it and more records in its log, and its logical state. */
async function source(options: OpenOptions): Promise<{ dir: string; expected: Dump }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 6, ...options });
  const a = await db.createVault('a');
  const vs = vectors(120, 6, 21);
  await a.insertMany(vs.slice(0, 60).map((vector, i) => ({ id: `a${i}`, vector, payload: { i } })));
  await db.checkpoint();
  const b = await db.createVault('b');
  await b.insertMany(vs.slice(60).map((vector, i) => ({ id: `b${i}`, vector })));
  for (let i = 0; i < 60; i += 5) await a.erase(`a${i}`);
  await a.insert('a1', vs[0]!, { replaced: true });
  const expected = dump(db);
  await db.close();
  return { dir, expected };
}

function copy(src: string): string {
  const dir = path.join(tmpDir(), 'db');
  fs.cpSync(src, dir, { recursive: true });
  return dir;
}

// Segmented: vault a's changes go in a delta, its graph kept (a few changes) or saved (FORMAT.md "Delta segments"); vault b is new, written whole.
const cases = [
  ['segmented', 'the graph kept', 1],
  ['segmented', 'the graph saved', 0],
  ['snapshot', '', 0],
] as const;
for (const [storage, graph, lag] of cases) {
  describe(`a crash at every filesystem call of a ${storage} checkpoint${graph ? ` (${graph})` : ''} reopens to the same logical state`, () => {
    it('fails each call in turn', async (t) => {
      const before = graphLag.share;
      graphLag.share = lag;
      t.after(() => void (graphLag.share = before));
      const { dir: src, expected } = await source({ storage });
      // Count the calls one whole checkpoint makes.
      const probe = new FaultFileSystem();
      const probeDir = copy(src);
      const db0 = await open(probeDir, { fs: probe });
      const opened = probe.calls.length;
      await db0.checkpoint();
      const steps = probe.calls.slice(opened);
      await db0.close();
      if (storage === 'segmented') {
        const a = decodeManifest(fs.readFileSync(path.join(probeDir, 'quiver.manifest'))).vaults.find((v) => v.name === 'a')!;
        assert.equal(a.deltas?.length, 1, 'vault a took a delta');
        assert.equal(a.graph!.path.endsWith('_1.hnsw'), lag > 0, graph);
      }
      assert.ok(steps.length >= (storage === 'segmented' ? 10 : 5), steps.map((c) => c.name).join(', '));
      const names = new Set(steps.map((c) => c.name));
      for (const name of ['writeFileSynced', 'rename', 'syncDir']) assert.ok(names.has(name as never), `the checkpoint calls ${name}`);
      // It empties the log by replacing it with a new generation (FORMAT.md "Log generations").
      assert.ok(steps.some((c) => c.name === 'rename' && c.arg.endsWith(`wal.log.tmp -> ${path.join(probeDir, 'wal.log')}`)), 'the checkpoint replaces the log');

      for (let n = 1; n <= steps.length; n++) {
        const dir = copy(src);
        const ffs = new FaultFileSystem();
        const db = await open(dir, { fs: ffs });
        ffs.failAt = ffs.calls.length + n;
        await assert.rejects(db.checkpoint(), (err: unknown) => err instanceof InjectedFault || (err instanceof StorageError && err.cause instanceof InjectedFault), `step ${n}`);
        await db.close().catch(() => undefined);

        const again = await open(dir);
        assert.deepEqual(dump(again), expected, `after a crash at step ${n} (${steps[n - 1]!.name} ${steps[n - 1]!.arg})`);
        // ...and it can checkpoint and reopen again, still the same.
        await again.checkpoint();
        await again.close();
        const third = await open(dir);
        assert.deepEqual(dump(third), expected, `after recovering from step ${n}`);
        assert.equal(third.stats().recovery!.replayedRecords, 0);
        await third.close();
        fs.rmSync(path.dirname(dir), { recursive: true, force: true });
      }
    });
  });
}

describe('a failed log write stops the database; what was acknowledged survives', () => {
  it('DATABASE_FAILED on the failing write and every call after it', async () => {
    const dir = dbPath();
    const ffs = new FaultFileSystem();
    const db = await open(dir, { dimension: 2, fs: ffs });
    const v = await db.createVault('v');
    await v.insert('ok', [1, 0]);
    ffs.failAt = ffs.calls.length + 1;
    await assert.rejects(v.insert('lost', [0, 1]), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_FAILED');
    assert.equal(db.status, 'failed');
    await assert.rejects(v.insert('after', [0, 1]), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_FAILED');
    assert.throws(() => v.count(), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_FAILED');
    await db.close();
    const again = await open(dir);
    assert.deepEqual(again.vault('v').ids(), ['ok']);
    await again.close();
  });
});

describe('stray files removed at open', () => {
  it('never include files the manifest on disk still names, even for a vault the log has since dropped', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 4 });
    await (await db.createVault('gone')).insert('a', [1, 0, 0, 0]);
    await db.checkpoint();
    await db.dropVault('gone');
    await db.close();
    const named = fs.readdirSync(path.join(dir, 'segments')).sort();
    fs.writeFileSync(path.join(dir, 'segments', 'vault_9_9.segment'), 'a stray from an interrupted checkpoint');
    const again = await open(dir);
    assert.equal(again.hasVault('gone'), false);
    await again.close();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'segments')).sort(), named, 'the stray went, the named files stayed');
    const { checkDatabase } = await import('../../src/engine/maintenance/check.js');
    assert.equal((await checkDatabase(dir)).ok, true);
    const third = await open(dir);
    await third.checkpoint();
    await third.close();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'segments')), [], 'a checkpoint without the vault removes its files');
  });
});

describe('a listing error after a checkpoint committed', () => {
  it('leaves the checkpoint resolved and the database open; the next open removes the strays', async (t) => {
    // The checkpoint saves vault a's graph, so the graph before is a stray to remove.
    const lag = graphLag.share;
    graphLag.share = 0;
    t.after(() => void (graphLag.share = lag));
    const { dir: src, expected } = await source({ storage: 'segmented' });
    const dir = copy(src);
    const ffs = new FaultFileSystem();
    let armed = false;
    let failed = 0;
    const flaky = overlay(ffs, {
      async readdir(p) {
        if (armed && path.basename(p) === 'segments') {
          failed++;
          throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
        }
        return ffs.readdir(p);
      },
    });
    const db = await open(dir, { fs: flaky });
    const before = fs.readdirSync(path.join(dir, 'segments'));
    armed = true;
    const result = await db.checkpoint();
    armed = false;
    assert.ok(failed > 0, 'the cleanup listed segments/ and failed');
    assert.equal(result.filesRemoved, 0);
    assert.equal(db.status, 'open', 'a committed checkpoint does not fail the database');
    assert.deepEqual(dump(db), expected);
    const now = fs.readdirSync(path.join(dir, 'segments'));
    assert.deepEqual(before.filter((f) => !now.includes(f)), [], "the old epoch's files are still there (the cleanup failed)");
    await db.vault('a').insert('after', vectors(1, 6, 3)[0]!);
    await db.close();
    const again = await open(dir);
    assert.ok(again.vault('a').get('after'), 'a write after the checkpoint is there');
    assert.deepEqual({ ...dump(again), a: dump(again)['a']!.filter((r) => r[0] !== 'after') }, expected, 'the rest as checkpointed');
    const left = fs.readdirSync(path.join(dir, 'segments'));
    // Every file of the old epoch the new manifest does not name (a base segment under a delta it still does: FORMAT.md "Delta segments").
    const named = new Set(decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).vaults.flatMap((v) => vaultFiles(v).map((ref) => path.basename(ref.path))));
    assert.ok(before.some((f) => !named.has(f)), 'the checkpoint replaced files');
    assert.deepEqual(before.filter((f) => left.includes(f) && !named.has(f)), [], `the old epoch's files are removed by the reopen: ${left}`);
    await again.close();
  });
});
