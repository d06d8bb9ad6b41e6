import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../helpers/tmp.js';
import { ensureBuilt } from '../helpers/built.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

before(() => {
  ensureBuilt();
});

describe('module formats', () => {
  it("require('quiverdb') works from CommonJS (Node 20.19+ loads the ESM entry), with the same classes as import", () => {
    const app = tmpDir('quiver-cjs-');
    fs.mkdirSync(path.join(app, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(app, 'node_modules', 'quiverdb'));
    fs.writeFileSync(
      path.join(app, 'use.cjs'),
      `const { open, ValidationError } = require('quiverdb');
open(undefined, { dimension: 2 }).then(async (db) => {
  const v = await db.createVault('v');
  await v.insert('a', [1, 0]);
  const err = await v.insert('b', [1]).catch((e) => e);
  const { ValidationError: fromImport } = await import('quiverdb');
  console.log(JSON.stringify({ hit: (await v.search([1, 0], { k: 1 }))[0].id, typed: err instanceof ValidationError, same: fromImport === ValidationError }));
  await db.close();
});`,
    );
    const out = execFileSync(process.execPath, ['use.cjs'], { cwd: app, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { hit: 'a', typed: true, same: true });
  });
});
