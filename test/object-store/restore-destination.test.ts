import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ConflictError, open } from '../../src/index.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { DIM, exportBytes, vec } from './util.js';

// Where a restore from the bucket writes: the rule of a local restore (test/unit/destinations).
describe('restore from the bucket: the destination', { skip }, () => {
  it("refuses a file or a non-empty directory, touching nothing; never removes a user's look-alike beside it", async () => {
    const url = await freshUrl('dest');
    const r = seeded(3);
    const writer = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    const docs = await writer.createVault('docs');
    for (let i = 0; i < 10; i++) await docs.insert(`d${i}`, vec(r));
    const state = await exportBytes(writer);
    await writer.close();

    const parent = tmpDir();
    const notes = path.join(parent, 'notes.txt');
    fs.writeFileSync(notes, 'my notes\n');
    const full = path.join(parent, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'keep.txt'), 'keep');
    for (const dest of [notes, full]) {
      await assert.rejects(restoreFromObjectStore(url, dest, {}, s3Options()), (err: unknown) => err instanceof ConflictError && err.code === 'ALREADY_EXISTS', dest);
    }
    assert.equal(fs.readFileSync(notes, 'utf8'), 'my notes\n');
    assert.deepEqual(fs.readdirSync(full), ['keep.txt']);
    assert.deepEqual(fs.readdirSync(parent).sort(), ['full', 'notes.txt']);

    // Into folders that do not exist yet, beside the user's own directories named like staging.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const where = path.join(parent, 'new1');
    fs.mkdirSync(where);
    const mine = [`db.restore-20261130`, `db.restore-${dead}-deadbeef`];
    for (const name of mine) fs.mkdirSync(path.join(where, name));
    const dest = path.join(where, 'db');
    await restoreFromObjectStore(url, dest, {}, s3Options());
    assert.deepEqual(fs.readdirSync(where).sort(), ['db', ...mine].sort(), 'only the restored database was added');
    assert.ok(!fs.existsSync(path.join(dest, '.quiver-staging')), 'no staging marker in the result');
    const db = await open(dest, { readOnly: true });
    assert.deepEqual(await exportBytes(db), state);
    await db.close();
  });
});
