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
  // The optional peers a user installs beside quiverdb for its integrations (devDependencies here).
  for (const peer of ['llamaindex', '@llamaindex', '@langchain']) {
    const from = path.join(ROOT, 'node_modules', peer);
    if (fs.existsSync(from)) fs.symlinkSync(from, path.join(dir, 'node_modules', peer));
  }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'readme-snippet', private: true, type: 'module' }));
  return dir;
}

describe('README.md', () => {
  it('has runnable blocks, and every skipped one says why', () => {
    assert.ok(scan.runnable.length >= 6, `${scan.runnable.length} runnable blocks`);
    assert.ok(scan.skipped.length <= 2, `skips stay rare: ${JSON.stringify(scan.skipped.map(({ line, reason }) => ({ line, reason })))}`);
  });

  it('its TypeScript blocks type-check against the built package (tsc --strict, module NodeNext)', { timeout: 120_000 }, () => {
    const dir = project();
    // Every TypeScript example that uses quiverdb, run or skipped (a skipped one is not run, but its types are the API's).
    const skippedUsingQuiverdb = scan.skipped.filter((b) => b.lang === 'ts' && /from 'quiverdb/.test(b.code));
    const files = [...scan.runnable.filter((b) => b.lang === 'ts'), ...skippedUsingQuiverdb].map((b) => {
      const name = `block-${b.line}.mts`;
      fs.writeFileSync(path.join(dir, name), `${b.code}\nexport {};\n`);
      return name;
    });
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2023'], noEmit: true, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] }, files }));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout.replace(/block-(\d+)\.mts/g, 'README.md block at line $1'));
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
