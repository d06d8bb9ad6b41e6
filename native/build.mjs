// npm's `install` script: builds the read-only graph search addon (native/qmap.c) with node-gyp.
// It never fails the install: without the addon, read-only opens keep hnswlib-node's own
// reader (README "Readers share memory"), so a missing compiler costs memory, not function.
// Skipped on Windows (the addon maps files with mmap(2)) and when QUIVER_NATIVE=0.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const note = (why) => console.log(`quiverdb: native graph search not built (${why}); read-only opens use hnswlib-node instead`);

function nodeGyp() {
  // npm puts its bundled node-gyp on PATH for lifecycle scripts and names it in npm_config_node_gyp.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && fs.existsSync(bundled)) return [process.execPath, bundled];
  // Outside npm (npm run build:native, a test setup): the node-gyp inside the npm beside this node.
  const beside = path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(beside)) return [process.execPath, beside];
  return ['node-gyp'];
}

function main() {
  if (process.platform === 'win32') return note('not supported on Windows yet');
  if (process.env.QUIVER_NATIVE === '0') return note('QUIVER_NATIVE=0');
  const args = ['rebuild', '--directory', here];
  // Headers installed beside this node (distribution packages, nvm, the official tarballs) spare
  // node-gyp a download; without them node-gyp fetches them (or uses the user's nodedir).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const [cmd, ...pre] = nodeGyp();
  const run = spawnSync(cmd, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', shell: process.platform === 'win32' });
  if (run.error) return note(`node-gyp could not run: ${run.error.message}`);
  if (run.status !== 0) {
    const last = `${run.stderr ?? ''}`.trim().split('\n').filter((l) => /error/i.test(l)).slice(-1)[0] ?? `node-gyp exited ${run.status}`;
    return note(last.trim().slice(0, 200));
  }
}

try {
  main();
} catch (err) {
  note(err instanceof Error ? err.message : String(err));
}
process.exitCode = 0;
