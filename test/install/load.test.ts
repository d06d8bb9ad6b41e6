import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tmpDir } from '../helpers/tmp.js';
import { ensureBuilt } from '../helpers/built.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

before(() => {
  ensureBuilt();
});

/**
 * What importing the package loads, counted in a fresh process by a module-load hook: Node
 * resolves, reads and compiles each module on its own, so the count is the load time's main term
 * (README "Performance": about 130 modules took about 100 ms; the bundle takes a fraction).
 * Nothing here is timed.
 */
function loadedBy(script: string): { files: string[]; cjs: string[] } {
  const dir = tmpDir('quiver-load-');
  // The hook runs off the main thread: it reports each URL on a port the main thread reads at the end.
  fs.writeFileSync(
    path.join(dir, 'register.mjs'),
    `import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
globalThis.__urls = [];
port1.on('message', (u) => globalThis.__urls.push(u));
port1.unref();
register(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks2.mjs')).href)}, { data: { port: port2 }, transferList: [port2] });
`,
  );
  fs.writeFileSync(path.join(dir, 'hooks2.mjs'), `let port; export function initialize(d) { port = d.port; } export async function load(url, context, next) { if (url.startsWith('file:')) port.postMessage(url); return next(url, context); }\n`);
  fs.writeFileSync(
    path.join(dir, 'main.mjs'),
    `${script}
await new Promise((r) => setTimeout(r, 50));
const { createRequire } = await import('node:module');
console.log(JSON.stringify({ files: globalThis.__urls, cjs: Object.keys(createRequire(import.meta.url).cache) }));
`,
  );
  const out = execFileSync(process.execPath, ['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, path.join(dir, 'main.mjs')], { encoding: 'utf8' });
  const got = JSON.parse(out) as { files: string[]; cjs: string[] };
  return { files: got.files.map((u) => fileURLToPath(u)), cjs: got.cjs };
}

describe('loading the package', () => {
  it('import loads a handful of bundled files, not one per source module, and no writer-only or CLI code', () => {
    const { files, cjs } = loadedBy(`await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href)});`);
    const ours = files.filter((f) => f.startsWith(path.join(ROOT, 'dist')));
    assert.ok(ours.length >= 1 && ours.length <= 8, `${ours.length} files of dist loaded: ${ours.join(', ')}`);
    assert.ok(!ours.some((f) => f.includes(`${path.sep}cli${path.sep}`)), 'the CLI is not loaded by import');
    // The writer's lock library loads when a writer first locks, not at import.
    assert.ok(!cjs.some((f) => f.includes(`${path.sep}proper-lockfile${path.sep}`)), 'proper-lockfile is not loaded at import');
    // msgpackr's stream module (and node:stream with it) is not part of the codec.
    assert.ok(!files.some((f) => f.includes(`${path.sep}msgpackr${path.sep}stream.js`)), "msgpackr's stream module is not loaded");
  });
});
