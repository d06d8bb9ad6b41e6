import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, restore, importDatabase, ConflictError, type Database } from '../../src/index.js';
import { backupDirectory } from '../../src/engine/maintenance/backup.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { dbPath, fingerprint, tmpDir, vectors } from '../helpers/tmp.js';

// Export, backup and restore write where the user says: the destination must be absent or an
// empty real directory outside the database; anything else is ConflictError and stays as it was.

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BACKUP_CHILD = fileURLToPath(new URL('../helpers/backup-child.ts', import.meta.url));

async function small(): Promise<{ dir: string; db: Database }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 4 });
  const v = await db.createVault('v');
  await v.insertMany(vectors(10, 4, 2).map((vector, i) => ({ id: `r${i}`, vector })));
  return { dir, db };
}

/** What is at `p`, without following a symlink: enough to see that nothing changed. */
function snapshotOf(p: string): string {
  const stat = fs.lstatSync(p);
  if (stat.isSymbolicLink()) return `link -> ${fs.readlinkSync(p)}`;
  if (stat.isFile()) return `file ${fs.readFileSync(p, 'hex')}`;
  return `dir ${JSON.stringify(fingerprint(p))} ${fs.readdirSync(p).sort().join(',')}`;
}

/** Destinations that must be refused, each with the sibling listing before. */
function hostile(): { name: string; dest: string }[] {
  const root = tmpDir();
  const file = path.join(root, 'notes.txt');
  fs.writeFileSync(file, 'my notes\n');
  const full = path.join(root, 'full');
  fs.mkdirSync(full);
  fs.writeFileSync(path.join(full, 'keep.txt'), 'keep');
  const empty = path.join(root, 'empty-target');
  fs.mkdirSync(empty);
  const link = path.join(root, 'link');
  fs.symlinkSync(empty, link);
  const dangling = path.join(root, 'dangling');
  fs.symlinkSync(path.join(root, 'nowhere'), dangling);
  return [
    { name: 'a regular file', dest: file },
    { name: 'a non-empty directory', dest: full },
    { name: 'a symlink to an empty directory', dest: link },
    { name: 'a dangling symlink', dest: dangling },
  ];
}

function listing(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

describe('export, backup and restore destinations', () => {
  for (const kind of ['export', 'backup', 'restore'] as const) {
    it(`${kind} refuses a file, a non-empty directory and symlinks with ConflictError, touching nothing`, async () => {
      const { db } = await small();
      const backup = path.join(tmpDir(), 'b');
      if (kind === 'restore') await db.backup(backup);
      for (const { name, dest } of hostile()) {
        const before = snapshotOf(dest);
        const siblings = listing(path.dirname(dest));
        const linkTarget = fs.lstatSync(dest).isSymbolicLink() ? fs.readlinkSync(dest) : null;
        const run = kind === 'export' ? db.export(dest) : kind === 'backup' ? db.backup(dest) : restore(backup, dest);
        await assert.rejects(run, (err: unknown) => err instanceof ConflictError && err.code === 'ALREADY_EXISTS', name);
        assert.equal(snapshotOf(dest), before, `${name}: unchanged`);
        assert.deepEqual(listing(path.dirname(dest)), siblings, `${name}: no staging left beside it`);
        if (linkTarget) assert.deepEqual(fs.existsSync(linkTarget) ? listing(linkTarget) : null, fs.existsSync(linkTarget) ? [] : null, `${name}: nothing written through it`);
      }
      await db.close();
    });

    it(`${kind} into the database's own directory is refused`, async () => {
      const { dir, db } = await small();
      const backup = path.join(tmpDir(), 'b');
      await db.backup(backup);
      const before = fingerprint(dir);
      const inside = [dir, path.join(dir, 'segments'), path.join(dir, 'segments', 'x'), path.join(dir, 'new-folder')];
      for (const dest of inside) {
        const run = kind === 'export' ? db.export(dest) : kind === 'backup' ? db.backup(dest) : restore(dir, path.join(dir, 'restored'));
        await assert.rejects(run, ConflictError, dest);
      }
      assert.deepEqual(fingerprint(dir), before);
      assert.equal(fs.existsSync(path.join(dir, 'new-folder')), false);
      assert.equal(fs.existsSync(path.join(dir, 'restored')), false);
      if (kind === 'restore') {
        // Nor the other way round: the database restored into may not contain the backup.
        await db.close();
        await assert.rejects(restore(backup, path.dirname(backup)), ConflictError);
        return;
      }
      await db.close();
    });

    it(`${kind} into an absent path or an empty real directory works`, async () => {
      const { db } = await small();
      const backup = path.join(tmpDir(), 'b');
      await db.backup(backup);
      await db.close();
      const absent = path.join(tmpDir(), 'deeper', 'out');
      const empty = tmpDir();
      for (const dest of [absent, empty]) {
        const { dir: src, db: other } = await small();
        if (kind === 'export') await other.export(dest);
        else if (kind === 'backup') await other.backup(dest);
        await other.close();
        if (kind === 'restore') await restore(backup, dest);
        assert.ok(fs.lstatSync(dest).isDirectory());
        assert.ok(fs.existsSync(path.join(dest, kind === 'export' ? 'quiver-export.json' : 'IDENTITY')));
        assert.deepEqual(listing(path.dirname(dest)).filter((n) => n.includes('.export-') || n.includes('.backup-') || n.includes('.restore-')), [], 'no staging left');
        void src;
      }
    });
  }

  it('quiver export onto a file exits 1 and leaves the file as it was', async () => {
    const { dir, db } = await small();
    await db.close();
    const file = path.join(tmpDir(), 'report.txt');
    fs.writeFileSync(file, 'important');
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'export', dir, file, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'ALREADY_EXISTS');
    assert.equal(fs.readFileSync(file, 'utf8'), 'important');
    const b = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'backup', dir, file, '--json'], { encoding: 'utf8' });
    assert.equal(b.status, 1, b.stdout + b.stderr);
    assert.equal(fs.readFileSync(file, 'utf8'), 'important');
  });

  it("a killed backup's staging directory is removed by the next backup to that destination; a live one's is kept", async () => {
    const { dir, db } = await small();
    await db.close();
    const parent = tmpDir();
    const dest = path.join(parent, 'nightly');
    // A backup SIGKILLed while copying leaves its staging directory beside the destination.
    const child = spawn(process.execPath, ['--import', 'tsx', BACKUP_CHILD, dir, dest], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('copying') && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const left = listing(parent);
    assert.equal(left.length, 2, `the destination (claimed, empty) and the staging: ${left}`);
    assert.ok(left.some((n) => /^nightly\.backup-\d+-[0-9a-f]{8}$/.test(n)));
    assert.deepEqual(listing(dest), []);
    // A name without a pid carries no marker: it may be the user's (nightly.backup-20261130), so it stays.
    const pidless = 'nightly.backup-1a2b3c4d';
    fs.mkdirSync(path.join(parent, pidless));
    const live = `nightly.backup-${process.ppid}-feedf00d`;
    fs.mkdirSync(path.join(parent, live));
    const other = 'other.backup-1a2b3c4d';
    fs.mkdirSync(path.join(parent, other));
    await backupDirectory(nodeFileSystem, dir, dest);
    assert.deepEqual(listing(parent), [live, 'nightly', pidless, other].sort());
  });

  it('an export or a backup that fails listing the destination\'s parent releases its claim', async () => {
    for (const kind of ['export', 'backup'] as const) {
      const parent = tmpDir();
      const dest = path.join(parent, 'out');
      const failing = overlay(nodeFileSystem, {
        async readdir(p) {
          if (path.resolve(p) === parent) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
          return nodeFileSystem.readdir(p);
        },
      });
      const dir = dbPath();
      const db = await open(dir, { dimension: 4, fs: kind === 'export' ? failing : nodeFileSystem });
      await (await db.createVault('v')).insertMany([{ id: 'r', vector: vectors(1, 4, 1)[0]! }]);
      await db.checkpoint();
      const done = kind === 'export' ? db.export(dest) : backupDirectory(failing, dir, dest);
      await assert.rejects(done, (err: Error & { code?: string }) => err.code === 'IO_ERROR', kind);
      await db.close();
      assert.deepEqual(listing(parent), [], `${kind}: the claimed destination is removed again`);
    }
  });

  it("a failed import into the user's empty directory never removes it, even when inspecting it failed once", async () => {
    const { db } = await small();
    const exported = path.join(tmpDir(), 'export');
    await db.export(exported);
    await db.close();
    // An export whose import fails after the database was created: a records line that is not JSON.
    fs.appendFileSync(path.join(exported, 'vaults', 'v', 'records.jsonl'), '{not json\n');
    const root = path.join(tmpDir(), 'mine');
    fs.mkdirSync(root);
    let stats = 0;
    const flaky = overlay(nodeFileSystem, {
      async stat(p) {
        if (path.resolve(p) === root && stats++ === 0) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        return nodeFileSystem.stat(p);
      },
    });
    await assert.rejects(importDatabase(root, exported, { fs: flaky }));
    assert.ok(fs.lstatSync(root).isDirectory(), 'the directory that was there is still there');
    // Without the fault: the import fails on the bad line, and the directory stays, empty again.
    await assert.rejects(importDatabase(root, exported));
    assert.deepEqual(listing(root), []);
  });

  it('a restore from object storage onto a file or a non-empty directory is ConflictError before the bucket is read; nothing changes', async () => {
    for (const { name, dest } of hostile()) {
      const before = snapshotOf(dest);
      const siblings = listing(path.dirname(dest));
      // A closed port: were the destination accepted, the restore would fail reaching it instead.
      const s3 = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } };
      await assert.rejects(restoreFromObjectStore('s3://bucket/db', dest, {}, s3), (err: unknown) => err instanceof ConflictError && err.code === 'ALREADY_EXISTS', name);
      assert.equal(snapshotOf(dest), before, `${name}: untouched`);
      assert.deepEqual(listing(path.dirname(dest)), siblings, `${name}: nothing beside it`);
    }
  });

  it("a user's directories named like staging directories survive a backup, an export and a restore beside them", async () => {
    const { db } = await small();
    const backup = path.join(tmpDir(), 'b');
    await db.backup(backup);
    // A pid that is surely dead: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    for (const kind of ['backup', 'export', 'restore'] as const) {
      const parent = tmpDir();
      const dest = path.join(parent, 'db');
      const mine = ['20261130', 'deadbeef', `${dead}-20261130`, `${dead}-deadbeef`].flatMap((tail) => ['backup', 'export', 'restore'].map((k) => `db.${k}-${tail}`));
      for (const name of mine) {
        fs.mkdirSync(path.join(parent, name));
        fs.writeFileSync(path.join(parent, name, 'precious.txt'), name);
      }
      // One even holds a file by the marker's name, naming another target.
      fs.writeFileSync(path.join(parent, `db.${kind}-${dead}-deadbeef`, '.quiver-staging'), JSON.stringify({ pid: Number(dead), host: 'elsewhere', target: '/x' }));
      if (kind === 'backup') await db.backup(dest);
      else if (kind === 'export') await db.export(dest);
      else await restore(backup, dest);
      assert.deepEqual(listing(parent), ['db', ...mine].sort(), `${kind}: nothing of the user's beside the destination was removed`);
      for (const name of mine) assert.equal(fs.readFileSync(path.join(parent, name, 'precious.txt'), 'utf8'), name);
      assert.ok(!fs.existsSync(path.join(dest, '.quiver-staging')), `${kind}: the marker does not end up in the result`);
    }
    await db.close();
  });
});
