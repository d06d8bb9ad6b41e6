import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, importDatabase, ConflictError, ValidationError } from '../../src/index.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';

// An import is all or nothing (FORMAT.md "Import"): killed at any durable step, the database
// reopens with none of it or all of it, and a retry of an import that left nothing succeeds.

const CHILD = fileURLToPath(new URL('../helpers/import-child.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const DIM = 8;

/** An export of two vaults with records, documents, layers, branches and traces. */
async function sourceExport(): Promise<string> {
  const db = await open(dbPath(), { dimension: DIM });
  for (const name of ['alpha', 'beta']) {
    const v = await db.createVault(name, { quota: { maxRecords: 1000 } });
    await v.insertMany(vectors(120, DIM, name.length).map((vector, i) => ({ id: `${name}-${i}`, vector, payload: { i, name } })));
    const { id } = await v.layers.commit({ branch: 'main', resources: { 'urn:a': { n: 1 } } });
    await v.layers.commit({ branch: 'main', resources: { 'urn:b': { n: 2 } } });
    await v.branches.create('side', id);
    await v.traces.put(`${name}-trace`, { steps: [1, 2, 3] });
    await v.createIndex('name');
  }
  const out = path.join(tmpDir(), 'export');
  await db.export(out);
  await db.close();
  return out;
}

/** The export's files for `vaults`, as text: two equal results mean the same content. */
function vaultFiles(exportDir: string, vaults: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of vaults) {
    for (const f of fs.readdirSync(path.join(exportDir, 'vaults', v)).sort()) out[`${v}/${f}`] = fs.readFileSync(path.join(exportDir, 'vaults', v, f), 'utf8');
  }
  return out;
}

/** Runs the child until it stalls at its n-th durable call (or finishes), then SIGKILLs it. */
async function killAt(mode: 'existing' | 'new', dir: string, source: string, n: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dir, source, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const l = out.split('\n').find((x) => x.startsWith('stalled') || x.startsWith('done'));
      if (l) resolve(l);
    });
    child.on('exit', (code) => setTimeout(() => reject(new Error(`child exited ${code}: ${err}`)), 50));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  // The dead child's writer lock would be taken over once stale (lockStaleMs); its holder is
  // known dead here, so the test frees it at once rather than wait.
  fs.rmSync(path.join(dir, 'LOCK.lock'), { recursive: true, force: true });
  return line;
}

/**
 * Where to kill: the first run goes through (it reports how many durable calls the import makes);
 * then a spread of points before the commit and every one of the last few around it. Every
 * point when QUIVER_SOAK is set.
 */
function killPoints(total: number): number[] {
  if (process.env.QUIVER_SOAK) return Array.from({ length: total }, (_, i) => i + 1);
  const points = new Set([1, 2, Math.floor(total / 3), Math.floor((2 * total) / 3)]);
  for (let n = Math.max(1, total - 6); n <= total; n++) points.add(n);
  return [...points].filter((n) => n >= 1 && n <= total).sort((a, b) => a - b);
}

function calls(line: string): number {
  const m = /^done (\d+)/.exec(line);
  assert.ok(m, line);
  return Number(m[1]);
}

/** After a kill: the target holds its own data and either none or all of the export. */
async function checkAllOrNothing(dir: string, source: string, expected: Record<string, string>, own: number): Promise<'none' | 'all'> {
  const db = await open(dir);
  try {
    if (own > 0) assert.equal(db.vault('keep').count(), own, 'the target keeps its own records');
    const imported = ['alpha', 'beta'].filter((n) => db.hasVault(n));
    if (imported.length === 0) {
      // Nothing of it: the retry succeeds.
      await db.import(source);
    } else {
      assert.deepEqual(imported, ['alpha', 'beta'], 'all vaults or none');
    }
    const check = path.join(tmpDir(), 'check');
    await db.export(check);
    assert.deepEqual(vaultFiles(check, ['alpha', 'beta']), expected, 'the import is complete and exact');
    return imported.length === 0 ? 'none' : 'all';
  } finally {
    await db.close();
  }
}

describe('import: all or nothing', () => {
  it('SIGKILLed at durable steps across an import into a live database (every step under QUIVER_SOAK): none or all of it, and the retry succeeds', { timeout: 300_000 }, async () => {
    const source = await sourceExport();
    const expected = vaultFiles(source, ['alpha', 'beta']);
    // The target: a checkpointed vault plus writes still in the log.
    const template = dbPath();
    const t = await open(template, { dimension: DIM });
    const keep = await t.createVault('keep');
    await keep.insertMany(vectors(30, DIM, 9).map((vector, i) => ({ id: `k${i}`, vector })));
    await t.checkpoint();
    await keep.insertMany(vectors(5, DIM, 10).map((vector, i) => ({ id: `late${i}`, vector })));
    await t.close();

    const seen = { none: 0, all: 0 };
    const trial = async (n: number): Promise<string> => {
      const dir = dbPath();
      fs.cpSync(template, dir, { recursive: true });
      const line = await killAt('existing', dir, source, n);
      seen[await checkAllOrNothing(dir, source, expected, 35)]++;
      return line;
    };
    const total = calls(await trial(100_000));
    for (const n of killPoints(total)) assert.match(await trial(n), /^stalled/);
    process.stderr.write(`import into a live database: ${JSON.stringify(seen)}\n`);
    assert.ok(seen.none > 0 && seen.all > 0, `kills landed on both sides of the commit: ${JSON.stringify(seen)}`);
  });

  it('importing into a path with no database creates one from the export (identity and embedder); SIGKILLed at steps across it, a retry completes it', { timeout: 300_000 }, async () => {
    const source = await sourceExport();
    const expected = vaultFiles(source, ['alpha', 'beta']);
    const fresh = path.join(tmpDir(), 'migrated');
    const result = await importDatabase(fresh, source);
    assert.equal(result.created, true);
    assert.equal(result.records, 240);
    const db = await open(fresh);
    assert.deepEqual({ dimension: db.identity.dimension, metric: db.identity.metric, index: db.identity.index }, { dimension: DIM, metric: 'cosine', index: { type: 'hnsw', M: 16, efConstruction: 200 } });
    await db.close();
    await assert.rejects(importDatabase(fresh, source), ConflictError, 'a second import finds the vaults there');
    // The same through the command: `quiver import <new path> <export>`.
    const viaCli = path.join(tmpDir(), 'cli-migrated');
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'import', viaCli, source, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout).created, true);
    const cliDb = await open(viaCli, { readOnly: true });
    assert.equal(cliDb.vault('beta').count(), 120);
    await cliDb.close();

    const trial = async (n: number): Promise<string> => {
      const dir = path.join(tmpDir(), 'new');
      const line = await killAt('new', dir, source, n);
      // Killed before the database existed, a retry creates it and imports; after, it reopens
      // with none of the import (the retry fills it) or all of it.
      if (!fs.existsSync(path.join(dir, 'IDENTITY'))) await importDatabase(dir, source);
      await checkAllOrNothing(dir, source, expected, 0);
      return line;
    };
    const total = calls(await trial(100_000));
    for (const n of killPoints(total)) assert.match(await trial(n), /^stalled/);
  });

  it('an import that fails validation midway leaves nothing; into a new path, not even the database', async () => {
    const source = await sourceExport();
    // Damage the second vault's last record: the first vault is fully staged before it fails.
    const file = path.join(source, 'vaults', 'beta', 'records.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1)!);
    last.id = '';
    lines[lines.length - 1] = JSON.stringify(last);
    fs.writeFileSync(file, lines.join('\n') + '\n');

    const dir = dbPath();
    const db = await open(dir, { dimension: DIM });
    await assert.rejects(db.import(source), ValidationError);
    assert.deepEqual(db.vaults().map((v) => v.name), []);
    await db.close();
    const reopened = await open(dir);
    assert.deepEqual(reopened.vaults().map((v) => v.name), [], 'nothing on disk either');
    await reopened.close();

    const fresh = path.join(tmpDir(), 'never');
    await assert.rejects(importDatabase(fresh, source), ValidationError);
    assert.equal(fs.existsSync(fresh), false, 'the database it created is gone again');
  });

  it('snapshot storage and an in-memory database import the same way', async () => {
    const src = await open(dbPath(), { dimension: DIM, storage: 'snapshot' });
    const v = await src.createVault('snap');
    await v.insertMany(vectors(40, DIM, 3).map((vector, i) => ({ id: `s${i}`, vector, payload: { i } })));
    const out = path.join(tmpDir(), 'export');
    await src.export(out);
    await src.close();

    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, storage: 'snapshot' });
    await db.import(out);
    await db.vault('snap').insert('after', vectors(1, DIM, 4)[0]!);
    await db.close();
    const reopened = await open(dir);
    assert.equal(reopened.vault('snap').count(), 41);
    await reopened.close();

    const memory = await open(undefined, { dimension: DIM, storage: 'snapshot' });
    await memory.import(out);
    assert.equal((await memory.vault('snap').search(vectors(40, DIM, 3)[7]!, { k: 1 }))[0]!.id, 's7');
    await memory.close();
  });
});
