import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, ConfigError, SchemaError, StorageError, NotFoundError } from '../../src/index.js';
import { encodeSectioned } from '../../src/format/sectioned-file.js';
import { SectionKind } from '../../src/format/constants.js';
import { planMigrations, type Migration } from '../../src/format/migrations.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

describe('open and IDENTITY', () => {
  it('creates the directory, IDENTITY, WAL, an epoch-0 manifest and segments/ on first use and reopens with the stored identity', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 8, metric: 'l2', index: { type: 'hnsw', M: 8, efConstruction: 50 } });
    assert.equal(db.status, 'open');
    await db.close();
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.startsWith('LOCK')).sort(), ['IDENTITY', 'quiver.manifest', 'segments', 'wal.log']);
    assert.equal(fs.readFileSync(path.join(dir, 'IDENTITY')).subarray(0, 4).toString(), 'QVID');
    const again = await open(dir);
    assert.deepEqual(
      { ...again.identity, createdAt: '' },
      { formatVersion: 1, dimension: 8, metric: 'l2', index: { type: 'hnsw', M: 8, efConstruction: 50 }, storage: 'segmented', createdAt: '' },
    );
    await again.close();
  });

  it('raises ConfigError CONFIG_MISMATCH naming the field for a conflicting dimension, metric or index', async () => {
    const dir = dbPath();
    await (await open(dir, { dimension: 8 })).close();
    const cases: [object, string][] = [
      [{ dimension: 9 }, 'dimension'],
      [{ metric: 'ip' }, 'metric'],
      [{ index: 'flat' }, 'index'],
      [{ index: { type: 'hnsw', M: 32 } }, 'index.M'],
      [{ storage: 'snapshot' }, 'storage'],
    ];
    for (const [options, field] of cases) {
      await assert.rejects(open(dir, options), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_MISMATCH' && err.field === field);
    }
    const ok = await open(dir, { dimension: 8, metric: 'cosine', index: { type: 'hnsw', M: 16, efConstruction: 200 } });
    await ok.close();
  });

  it('refuses bad options with CONFIG_INVALID and creates nothing', async () => {
    const dir = dbPath();
    for (const options of [{}, { dimension: 0 }, { dimension: 2.5 }, { dimension: 4, metric: 'dot' }, { dimension: 4, durability: 'fast' }, { dimension: 4, bogus: 1 }]) {
      await assert.rejects(open(dir, options as object), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_INVALID');
    }
    assert.ok(!fs.existsSync(path.join(dir, 'IDENTITY')));
  });

  it('SCHEMA_VERSION_ABSENT for a non-empty directory without IDENTITY, and changes nothing', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    await assert.rejects(open(dir, { dimension: 4 }), (err: unknown) => err instanceof SchemaError && err.code === 'SCHEMA_VERSION_ABSENT');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.startsWith('LOCK')), ['notes.txt']);
  });

  it('SCHEMA_TOO_NEW for a newer format version', async () => {
    const dir = dbPath();
    await (await open(dir, { dimension: 4 })).close();
    const body = Buffer.from(JSON.stringify({ formatVersion: 2 }));
    fs.writeFileSync(path.join(dir, 'IDENTITY'), Buffer.concat(encodeSectioned('identity', 2, [{ kind: SectionKind.json, payload: body }])));
    await assert.rejects(open(dir), (err: unknown) => err instanceof SchemaError && err.code === 'SCHEMA_TOO_NEW' && err.found === 2 && err.supported === 1);
  });

  it('an older version with no registered migration raises SCHEMA_MIGRATION_MISSING; the planner orders migrations', async () => {
    const dir = dbPath();
    await (await open(dir, { dimension: 4 })).close();
    const body = Buffer.from(JSON.stringify({ formatVersion: 0 }));
    fs.writeFileSync(path.join(dir, 'IDENTITY'), Buffer.concat(encodeSectioned('identity', 0, [{ kind: SectionKind.json, payload: body }])));
    await assert.rejects(open(dir), (err: unknown) => err instanceof SchemaError && err.code === 'SCHEMA_MIGRATION_MISSING');
    const step = (from: number): Migration => ({ from, describe: `v${from}`, run: async () => {} });
    assert.deepEqual(planMigrations(1, [step(3), step(1), step(2)], 4).map((m) => m.from), [1, 2, 3]);
    assert.throws(() => planMigrations(1, [step(1)], 3), (err: unknown) => err instanceof SchemaError && err.code === 'SCHEMA_MIGRATION_MISSING');
    assert.deepEqual(planMigrations(1, [], 1), []);
  });

  it('create: false and readOnly on a missing database raise NotFoundError', async () => {
    const dir = dbPath();
    await assert.rejects(open(dir, { create: false }), NotFoundError);
    await assert.rejects(open(dir, { readOnly: true }), NotFoundError);
    assert.ok(!fs.existsSync(path.join(dir, 'IDENTITY')));
  });

  it('open() with no path is an in-memory database with the same API', async () => {
    const db = await open(undefined, { dimension: 3 });
    assert.equal(db.path, null);
    const v = await db.createVault('mem');
    await v.insert('a', [1, 0, 0], { x: 1 });
    assert.equal((await v.search([1, 0, 0], { k: 1 }))[0]!.id, 'a');
    assert.equal((await db.checkpoint()).vaultsWritten, 0);
    await db.compact();
    assert.equal(v.count(), 1);
    await db.close();
  });

  it('lifecycle: status, idempotent close, asyncDispose, and every call after close raises DATABASE_CLOSED', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('v');
    const closing = db.close();
    assert.equal(db.status, 'closing');
    await Promise.all([closing, db.close()]);
    assert.equal(db.status, 'closed');
    const closed = (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_CLOSED';
    await assert.rejects(v.insert('a', [1, 1]), closed);
    await assert.rejects(db.createVault('w'), closed);
    await assert.rejects(db.checkpoint(), closed);
    await assert.rejects(v.search([1, 1]), closed);
    assert.throws(() => v.count(), closed);
    assert.throws(() => db.stats(), closed);
    {
      await using disposable = await open(dir);
      assert.equal(disposable.status, 'open');
    }
    const reopened = await open(dir);
    await reopened.close();
  });
});
