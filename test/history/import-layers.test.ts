/**
 * Import checks layers with the validator writes use (history-ops.ts checkLayer): a layer whose
 * parent is missing, not a string, or unknown is refused before anything is logged, and the
 * database reopens. And memory never diverges silently from the log: a logged operation that
 * cannot be applied fails the database.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, StorageError, type Database } from '../../src/index.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

async function exported(): Promise<string> {
  const db = await open(undefined, { dimension: 2 });
  const v = await db.createVault('kb');
  await v.insert('a', [1, 2]);
  await v.layers.commit({ resources: { 'urn:a': { n: 1 } } });
  await v.layers.commit({ resources: { 'urn:b': { n: 2 } } });
  const dir = path.join(tmpDir(), 'export');
  await db.export(dir);
  await db.close();
  return dir;
}

function editLayers(dir: string, edit: (layer: Record<string, unknown>, i: number) => void): void {
  const file = path.join(dir, 'vaults', 'kb', 'layers.jsonl');
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  lines.forEach(edit);
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

describe('import validates layers as writes do', () => {
  for (const [name, edit] of [
    ['a missing parent', (l: Record<string, unknown>) => delete l.parent],
    ['a numeric parent', (l: Record<string, unknown>) => (l.parent = 7)],
    ['a parent that is not there', (l: Record<string, unknown>) => (l.parent = 'L40')],
    ['a bad branch name', (l: Record<string, unknown>) => (l.branch = '')],
  ] as const) {
    it(`${name} is refused before it is logged; the database still reopens`, async () => {
      const source = await exported();
      editLayers(source, (l, i) => i === 1 && edit(l));
      const dir = dbPath();
      const db = await open(dir, { dimension: 2 });
      await db.createVault('other');
      await assert.rejects(db.import(source));
      assert.equal(db.status, 'open');
      assert.equal(db.hasVault('kb'), false);
      await db.close();
      const again = await open(dir, { dimension: 2 });
      assert.deepEqual(again.vaults().map((v) => v.name), ['other']);
      await again.close();
    });
  }

  it('an intact export still imports, layers and parents kept', async () => {
    const source = await exported();
    const db = await open(dbPath(), { dimension: 2 });
    await db.import(source);
    const log = db.vault('kb').layers.log();
    assert.deepEqual(log.map((l) => [l.id, l.parent]), [['L2', 'L1'], ['L1', null]]);
    await db.close();
  });
});

describe('a logged operation that fails to apply fails the database', () => {
  it('status failed, and every call raises', async () => {
    const db = await open(dbPath(), { dimension: 2 });
    const v = await db.createVault('v');
    // Past every validator (only a bug could get here): a layer whose parent does not exist.
    const layer = { id: 'L5', parent: 'L4', branch: 'main', meta: null, at: 1, resources: new Map(), bytes: 0 };
    const commit = (db as unknown as { commitOps(ops: unknown[], b: boolean): unknown }).commitOps.bind(db);
    assert.throws(() => commit([{ type: 'layerCommit', vault: 1, layer, move: null }], false), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_FAILED');
    assert.equal((db as Database).status, 'failed');
    assert.throws(() => db.vaults(), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_FAILED');
    await assert.rejects(v.insert('x', [1, 2]), (err: unknown) => err instanceof StorageError);
    await db.close();
  });
});
