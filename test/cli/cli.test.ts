import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';
import { writeTestModel } from '../helpers/onnx-model.js';
import { quiver } from '../helpers/cli.js';

describe('quiver', () => {
  it('init, stats, checkpoint, compact, check with --json; exit codes 0, 1, 2, 3', async () => {
    const dir = dbPath();
    const init = (await quiver('init', dir, '--dim', '8', '--metric', 'l2', '--json'));
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.json().identity.metric, 'l2');

    const db = await open(dir);
    const v = await db.createVault('docs', { quota: { maxRecords: 100 } });
    await v.insertMany(vectors(30, 8, 1).map((vector, i) => ({ id: `r${i}`, vector })));
    await v.erase('r3');
    await db.close();

    const stats = (await quiver('stats', dir, '--json'));
    assert.equal(stats.code, 0, stats.stderr);
    const s = stats.json();
    assert.equal(s.vaults[0].name, 'docs');
    assert.equal(s.vaults[0].records, 29);
    assert.equal(s.vaults[0].quota.maxRecords, 100);
    assert.ok(s.files.wal > 16);
    assert.equal(s.recovery.replayedRecords, 3, 'vault create, one insertMany batch, one erase');
    const human = (await quiver('stats', dir));
    assert.match(human.stdout, /records: 29/);

    const cp = (await quiver('checkpoint', dir, '--json'));
    assert.equal(cp.code, 0, cp.stderr);
    assert.equal(cp.json().epoch, 1);
    // A record erased after its vector reached a saved graph leaves a deleted slot for compact to free.
    const again = await open(dir);
    await again.settle();
    await again.vault('docs').erase('r5');
    await again.checkpoint();
    await again.close();
    const compact = (await quiver('compact', dir, '--json'));
    assert.equal(compact.code, 0, compact.stderr);
    assert.equal(compact.json().slotsFreed, 1);

    const check = (await quiver('check', dir, '--json'));
    assert.equal(check.code, 0, check.stdout);
    assert.equal(check.json().ok, true);
    assert.equal(check.json().records, 28);

    const seg = fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.segment'))!;
    const file = path.join(dir, 'segments', seg);
    const bytes = fs.readFileSync(file);
    bytes[bytes.byteLength - 5]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    const bad = (await quiver('check', dir));
    assert.equal(bad.code, 3);
    assert.match(bad.stdout, new RegExp(`CORRUPT[\\s\\S]*${seg}`));
    const corruptOpen = (await quiver('stats', dir, '--json'));
    assert.equal(corruptOpen.code, 3);
    assert.equal(corruptOpen.json().error.code, 'CORRUPTION');

    assert.equal((await quiver('stats', path.join(dir, 'nope'))).code, 1);
    assert.equal((await quiver('frobnicate')).code, 2);
  });

  it('local-only commands take an s3:// argument as the local path it always was, not a replica', async () => {
    const root = tmpDir();
    const cwd = process.cwd();
    process.chdir(root);
    try {
      assert.equal((await quiver('init', 's3://bkt/db', '--dim', '4')).code, 0);
      assert.ok(fs.existsSync(path.join(root, 's3:', 'bkt', 'db', 'IDENTITY')), 'created under ./s3:/');
      const stats = await quiver('stats', 's3://bkt/db', '--json');
      assert.equal(stats.code, 0, stats.stderr);
      const missing = await quiver('stats', 's3://bkt/none', '--json');
      assert.equal(missing.code, 1);
      assert.equal(missing.json().error.code, 'NOT_FOUND');
      assert.match(missing.json().error.message, /no database at .*s3:\/bkt\/none$/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('recover salvages a log with corruption in the middle', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('v');
    for (let i = 0; i < 5; i++) await v.insert(`r${i}`, [1, i]);
    await db.close();
    const wal = fs.readFileSync(path.join(dir, 'wal.log'));
    wal[16 + 60]! ^= 0xff; // inside the second record
    fs.writeFileSync(path.join(dir, 'wal.log'), wal);
    assert.equal((await quiver('stats', dir)).code, 3);
    const r = (await quiver('recover', dir, '--json'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.json().recovery.salvagedTo, /^wal\.log\.salvaged-/);
    assert.equal((await quiver('check', dir)).code, 0);
  });

  it('init --embedder local, add files, search --text, reembed to a model folder', async () => {
    const dir = dbPath();
    const files = path.join(path.dirname(dir), 'files');
    fs.mkdirSync(files);
    fs.writeFileSync(path.join(files, 'volcano.txt'), 'Volcanoes erupt when molten magma rises through the crust and reaches the surface. '.repeat(20));
    fs.writeFileSync(path.join(files, 'bank.txt'), 'The central bank raised interest rates again to slow inflation and cool lending. '.repeat(20));
    assert.equal((await quiver('init', dir, '--embedder', 'local')).code, 0);
    const add = (await quiver('add', dir, '--vault', 'notes', '--chunk-size', '400', '--overlap', '80', path.join(files, 'volcano.txt'), path.join(files, 'bank.txt'), '--json'));
    assert.equal(add.code, 0, add.stderr);
    assert.ok(add.json().files.every((f: { chunks: number }) => f.chunks > 1));
    const hits = (await quiver('search', dir, '--vault', 'notes', '--text', 'lava and eruptions', '-k', '1', '--json'));
    assert.equal(hits.code, 0, hits.stderr);
    assert.match(hits.json()[0].id, /^volcano\.txt#\d+$/);
    assert.match(hits.json()[0].document.text, /magma/);
    assert.equal((await quiver('search', dir, '--vault', 'notes')).code, 2, 'needs --text or --vector');
    const text = (await quiver('search', dir, '--vault', 'notes', '--text', 'magma crust', '--mode', 'text', '-k', '1', '--json')).json();
    assert.match(text[0].id, /^volcano/);
    const hybrid = (await quiver('search', dir, '--vault', 'notes', '--text', 'interest rates', '--mode', 'hybrid', '-k', '1', '--json')).json();
    assert.match(hybrid[0].id, /^bank/);
    assert.ok(hybrid[0].ranks.text >= 1);
    const model = writeTestModel(path.join(path.dirname(dir), 'model'), 2000).dir;
    const re = (await quiver('reembed', dir, '--embedder', model, '--json'));
    assert.equal(re.code, 0, re.stderr);
    assert.equal(re.json().documents, add.json().files.reduce((n: number, f: { chunks: number }) => n + f.chunks, 0));
    const stats = (await quiver('stats', dir, '--json')).json();
    assert.equal(stats.embedder.provider, 'transformers');
    assert.ok(stats.files.embedder > 0);
    assert.equal((await quiver('init', dir + '-none')).code, 2, 'init needs --dim or --embedder');
  });

  it('branch list|show|create|delete, trace list|get, export and import, each with --json', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('kb');
    await v.layers.commit({ resources: { 'urn:a': { v: 1 } }, meta: { msg: 'one' } });
    await v.layers.commit({ resources: { 'urn:a': { v: 2 } } });
    await v.traces.put('run/1', { ok: true }, { at: Date.parse('2026-01-01T00:00:00Z') });
    await v.traces.put('run/2', { ok: false }, { at: Date.parse('2026-02-01T00:00:00Z') });
    await db.close();

    assert.deepEqual((await quiver('branch', 'list', dir, '--vault', 'kb', '--json')).json(), [{ name: 'main', head: 'L2' }]);
    assert.equal((await quiver('branch', 'create', dir, 'exp', '--vault', 'kb', '--from', 'L1')).code, 0);
    const show = (await quiver('branch', 'show', dir, 'exp', '--vault', 'kb', '--json')).json();
    assert.deepEqual([show.head, show.log.map((l: { id: string }) => l.id)], ['L1', ['L1']]);
    assert.match((await quiver('branch', 'show', dir, 'main', '--vault', 'kb')).stdout, /L2\s+parent L1/);
    assert.equal((await quiver('branch', 'show', dir, 'nope', '--vault', 'kb')).code, 1);
    assert.equal((await quiver('branch', 'delete', dir, 'exp', '--vault', 'kb')).code, 0, 'main reaches L1, so exp is not the only reference');
    const traces = (await quiver('trace', 'list', dir, '--vault', 'kb', '--since', '2026-01-15', '--json'));
    assert.deepEqual(traces.json().map((t: { key: string }) => t.key), ['run/2']);
    assert.deepEqual((await quiver('trace', 'get', dir, 'run/1', '--vault', 'kb', '--json')).json().trace, { ok: true });
    const stats = (await quiver('stats', dir, '--json')).json();
    assert.deepEqual([stats.vaults[0].layers, stats.vaults[0].traces.count, stats.vaults[0].branches], [2, 2, [{ name: 'main', head: 'L2' }]]);

    const out = path.join(path.dirname(dir), 'export');
    const exported = (await quiver('export', dir, out, '--json'));
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.json().layers, 2);
    const target = dbPath();
    assert.equal((await quiver('init', target, '--dim', '2')).code, 0);
    const imported = (await quiver('import', target, out, '--json'));
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(imported.json().traces, 2);
    assert.deepEqual((await quiver('trace', 'list', target, '--vault', 'kb', '--json')).json().map((t: { key: string }) => t.key), ['run/1', 'run/2']);
    assert.equal((await quiver('import', target, out)).code, 1, 'the vault exists now');
  });
});
