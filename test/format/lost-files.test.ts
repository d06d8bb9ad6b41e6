import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, CorruptionError } from '../../src/index.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function quiverCheck(dir: string): number {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'check', dir, '--json'], { encoding: 'utf8' }).status ?? -1;
}

/** A database with the built-in embedder, a checkpoint, and records in the log after it. */
async function makeSource(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { embedder: 'local' });
  const v = await db.createVault('docs');
  await v.addDocument({ id: 'a', text: 'the first document, checkpointed' });
  await db.checkpoint();
  await v.addDocument({ id: 'b', text: 'the second document, only in the log' });
  await db.close();
  return dir;
}

function copyOf(source: string): string {
  const dir = path.join(tmpDir(), 'db');
  fs.cpSync(source, dir, { recursive: true });
  return dir;
}

/** Open (read-write and read-only) raises CorruptionError naming `file`; check reports it and exits 3. */
async function refused(dir: string, file: string | RegExp): Promise<void> {
  const names = (err: unknown) => err instanceof CorruptionError && (typeof file === 'string' ? err.file === file : file.test(err.file));
  await assert.rejects(open(dir, { readOnly: true }), names, 'read-only open');
  await assert.rejects(open(dir), names, 'read-write open');
  const report = await checkDatabase(dir);
  assert.equal(report.ok, false);
  assert.ok(report.problems.some((p) => (typeof file === 'string' ? p.file === file : file.test(p.file))), JSON.stringify(report.problems));
  assert.equal(quiverCheck(dir), 3, 'quiver check exits 3');
}

describe('every file the root needs is checked for', () => {
  let src: string;
  before(async () => {
    src = await makeSource();
  });

  it('the intact database opens and checks clean, as does a brand-new one and one whose log a checkpoint emptied', async () => {
    assert.equal((await checkDatabase(src)).ok, true);
    assert.equal(quiverCheck(src), 0);
    const fresh = dbPath();
    await (await open(fresh, { dimension: 4 })).close();
    assert.deepEqual((await checkDatabase(fresh)).problems, []);
    const emptied = copyOf(src);
    const db = await open(emptied);
    await db.checkpoint();
    await db.close();
    assert.deepEqual((await checkDatabase(emptied)).problems, []);
    const again = await open(emptied, { readOnly: true });
    assert.deepEqual(again.vault('docs').ids().sort(), ['a', 'b']);
    await again.close();
  });

  it('a deleted wal.log', async () => {
    const dir = copyOf(src);
    fs.rmSync(path.join(dir, 'wal.log'));
    await refused(dir, 'wal.log');
  });

  it("wal.log replaced by another database's", async () => {
    const dir = copyOf(src);
    const other = await makeSource();
    fs.copyFileSync(path.join(other, 'wal.log'), path.join(dir, 'wal.log'));
    await refused(dir, 'wal.log');
  });

  it('a deleted TEXT_EMBEDDER.manifest (and the refused open writes no new one)', async () => {
    const dir = copyOf(src);
    fs.rmSync(path.join(dir, 'TEXT_EMBEDDER.manifest'));
    await refused(dir, 'TEXT_EMBEDDER.manifest');
    assert.equal(fs.existsSync(path.join(dir, 'TEXT_EMBEDDER.manifest')), false, 'nothing was written');
  });

  it('flipped bytes in TEXT_EMBEDDER.manifest and in the .localembed artifact', async () => {
    const artifact = fs.readdirSync(path.join(src, 'text_embedder')).find((f) => f.endsWith('.localembed'))!;
    for (const rel of ['TEXT_EMBEDDER.manifest', `text_embedder/${artifact}`]) {
      const size = fs.statSync(path.join(src, rel)).size;
      for (const at of [5, Math.floor(size / 2), size - 1]) {
        const dir = copyOf(src);
        const bytes = fs.readFileSync(path.join(dir, rel));
        bytes[at] = bytes[at]! ^ 0x40;
        fs.writeFileSync(path.join(dir, rel), bytes);
        await refused(dir, /^(TEXT_EMBEDDER\.manifest|text_embedder\/.*|default_v1\.localembed)$/);
      }
    }
  });
});
