import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backup, open, NotFoundError, ValidationError } from '../../src/index.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';

// backup(dir, dest) copies a database directory that this process has not opened: quiver backup
// runs it beside a writer, without a lock or a lease.

describe('backup(dir, dest)', () => {
  it('copies a directory a writer holds open; the copy opens with what was acknowledged', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 4 });
    try {
      const v = await db.createVault('v');
      await v.insertMany(vectors(10, 4, 3).map((vector, i) => ({ id: `r${i}`, vector, payload: { i } })));
      await db.checkpoint();
      await v.insert('after', [1, 0, 0, 0]);
      const dest = path.join(tmpDir(), 'copy');
      const result = await backup(dir, dest);
      assert.equal(result.path, path.resolve(dest));
      assert.equal(result.lsn, db.stats().lastLsn);
      const copy = await open(dest, { readOnly: true });
      try {
        assert.equal(copy.vault('v').count(), 11);
        assert.deepEqual(copy.vault('v').get('r3')?.payload, { i: 3 });
      } finally {
        await copy.close();
      }
      assert.equal(db.status, 'open', 'the writer is undisturbed');
    } finally {
      await db.close();
    }
  });

  it('refuses a path that is no database, or no path, and writes nothing', async () => {
    const parent = tmpDir();
    await assert.rejects(backup(path.join(parent, 'none'), path.join(parent, 'dest')), NotFoundError);
    await assert.rejects(backup(undefined as unknown as string, path.join(parent, 'dest')), (e: unknown) => e instanceof ValidationError && e.field === 'dir');
    await assert.rejects(backup(parent, 42 as unknown as string), (e: unknown) => e instanceof ValidationError && e.field === 'dest');
    assert.deepEqual(fs.readdirSync(parent), []);
  });
});
