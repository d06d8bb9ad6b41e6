import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the npm package', () => {
  it('packs, installs into another project, imports, and runs `npx quiver`', { timeout: 300_000 }, () => {
    const work = tmpDir('quiver-pack-');
    const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    const tarball = npm(['pack', '--silent', '--pack-destination', work], ROOT).trim().split('\n').pop()!;
    const files = execFileSync('tar', ['-tzf', path.join(work, tarball)], { encoding: 'utf8' });
    assert.match(files, /package\/dist\/index\.js/);
    assert.match(files, /package\/dist\/index\.d\.ts/);
    assert.match(files, /package\/dist\/cli\/main\.js/);
    assert.match(files, /package\/FORMAT\.md/);
    assert.doesNotMatch(files, /package\/(src|test)\//);

    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', allowScripts: { 'hnswlib-node': true, sse4_crc32: true, 'msgpackr-extract': true } }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tarball)], app);
    fs.writeFileSync(
      path.join(app, 'use.mjs'),
      `import { open, ValidationError } from 'quiverdb';
const db = await open('./db', { dimension: 3 });
const v = await db.createVault('x');
await v.insert('a', [1, 2, 3], { ok: true });
const hits = await v.search([1, 2, 3]);
await v.insert('b', [1]).catch((e) => console.log(e instanceof ValidationError ? 'typed' : 'untyped'));
console.log(hits[0].id);
await db.close();
`,
    );
    assert.equal(execFileSync(process.execPath, ['use.mjs'], { cwd: app, encoding: 'utf8' }), 'typed\na\n');
    const stats = JSON.parse(npm(['exec', '--', 'quiver', 'stats', './db', '--json'], app));
    assert.equal(stats.vaults[0].records, 1);
  });
});
