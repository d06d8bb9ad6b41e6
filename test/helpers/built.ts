import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Makes sure dist/ is built from the current src/ (`npm test` builds first, so usually this
 * does nothing). Test files run in parallel and read dist/, so a rebuild happens under a lock,
 * and only when a source file is newer than the build.
 */
export function ensureBuilt(): void {
  const lock = path.join(ROOT, '.tmp', 'build.lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for 5 minutes`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    const built = path.join(ROOT, 'dist', 'index.js');
    const stale = !fs.existsSync(built) || newest(path.join(ROOT, 'src')) > fs.statSync(built).mtimeMs || !fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'));
    if (stale) execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'ignore' });
  } finally {
    fs.rmdirSync(lock);
  }
}
