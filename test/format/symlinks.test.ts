/**
 * The database never follows a symbolic link out of its directory: a segment, graph, manifest or
 * log replaced by a link (even to a byte-identical copy elsewhere) is CorruptionError naming the
 * file, on open and in check. The database directory itself may be a link.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, checkDatabase, CorruptionError } from '../../src/index.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

async function database(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 2 });
  const v = await db.createVault('v');
  await v.insert('a', [1, 2], { n: 1 });
  await db.checkpoint();
  await v.insert('b', [2, 1]);
  await db.close();
  return dir;
}

/** Moves `rel` out of the database and leaves a symbolic link to it in its place. */
function replaceWithLink(dir: string, rel: string): void {
  const outside = path.join(tmpDir(), path.basename(rel));
  fs.copyFileSync(path.join(dir, rel), outside);
  fs.rmSync(path.join(dir, rel));
  fs.symlinkSync(outside, path.join(dir, rel));
}

describe('symbolic links inside the database are not followed', () => {
  for (const rel of ['segments/vault_1_1.segment', 'segments/vault_1_1.hnsw', 'quiver.manifest', 'IDENTITY']) {
    it(`${rel} replaced by a link to an identical copy: CorruptionError naming it`, async () => {
      const dir = await database();
      replaceWithLink(dir, rel);
      const named = (err: unknown) => err instanceof CorruptionError && err.file.includes(path.basename(rel));
      await assert.rejects(open(dir), named);
      await assert.rejects(open(dir, { readOnly: true }), named);
      const report = await checkDatabase(dir);
      assert.equal(report.ok, false);
    });
  }

  it('a database directory that is itself a link opens', async () => {
    const dir = await database();
    const link = path.join(tmpDir(), 'link');
    fs.symlinkSync(dir, link);
    const db = await open(link);
    assert.deepEqual(db.vault('v').ids(), ['a', 'b']);
    await db.close();
  });
});
