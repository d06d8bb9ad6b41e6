import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '../helpers/tmp.js';
import { ensureBuilt } from '../helpers/built.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Only PATH and HOME: nothing npm set for this test run (npm_config_*, the project's config) leaks in. */
const clean = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

describe('the npm package', () => {
  it('packs what a user needs and nothing else: dist, the shipped data, docs, the reader addon\'s sources', { timeout: 300_000 }, () => {
    ensureBuilt();
    const work = tmpDir('quiver-pack-');
    const tarball = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', env: clean }).trim().split('\n').pop()!;
    const files = execFileSync('tar', ['-tzf', path.join(work, tarball)], { encoding: 'utf8' });
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'data/default_v1.localembed', 'data/demo-corpus.json.gz', 'FORMAT.md', 'README.md', 'native/qmap.c', 'native/graph.c', 'native/graph.h', 'native/pages.c', 'native/scan.c', 'native/binding.gyp', 'native/build.mjs']) {
      assert.match(files, new RegExp(`^package/${f.replace(/\./g, '\\.')}$`, 'm'), f);
    }
    assert.doesNotMatch(files, /package\/(src|test|scripts|bench)\//);
    assert.doesNotMatch(files, /package\/native\/build\//, 'the addon is built at install, for the user\'s Node, never shipped built');
  });

  // The whole clean-folder install (size limit, import, require, npx quiver --version and demo)
  // is scripts/ci/install-check.sh, which .ci/run runs as its own step. It compiles native
  // addons and takes minutes, so here it runs only when asked: QUIVER_INSTALL_CHECK=1 npm test.
  it('installs into a clean folder as a user would (scripts/ci/install-check.sh)', { timeout: 600_000, skip: process.env.QUIVER_INSTALL_CHECK === '1' ? false : '.ci/run runs it; QUIVER_INSTALL_CHECK=1 runs it here' }, () => {
    const r = (ensureBuilt(), spawnSync('bash', [path.join(ROOT, 'scripts', 'ci', 'install-check.sh'), '--no-build'], { cwd: ROOT, encoding: 'utf8', env: { ...clean, TMPDIR: tmpDir() } }));
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /node_modules is \S+ \(\d+ KB, limit 30 MB\)/);
    assert.match(r.stdout, /install-check: ok/);
  });
});
