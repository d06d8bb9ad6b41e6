import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../helpers/tmp.js';
import { ensureBuilt } from '../helpers/built.js';
import { scanReadme } from './readme-blocks.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const scan = scanReadme(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

before(() => {
  ensureBuilt();
});

/** A project folder where 'quiverdb' is the built package, as after npm install. */
function project(): string {
  const dir = tmpDir('quiver-readme-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'quiverdb'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'readme-snippet', private: true, type: 'module' }));
  return dir;
}

describe('README.md', () => {
  it('has runnable blocks, and every skipped one says why', () => {
    assert.ok(scan.runnable.length >= 6, `${scan.runnable.length} runnable blocks`);
    assert.ok(scan.skipped.length <= 2, `skips stay rare: ${JSON.stringify(scan.skipped)}`);
  });

  for (const block of scan.runnable) {
    it(`the ${block.lang} block at line ${block.lines.join(' + ')} runs as written, twice in the same folder`, { timeout: 120_000 }, () => {
      const dir = project();
      const file = path.join(dir, `snippet.${block.lang === 'ts' ? 'mts' : 'mjs'}`);
      fs.writeFileSync(file, block.code + '\n');
      for (const round of [1, 2]) {
        const args = block.lang === 'ts' ? ['--import', TSX, file] : [file];
        const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 110_000 });
        assert.equal(r.status, 0, `README.md:${block.line} (run ${round}) exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
      }
    });
  }
});
