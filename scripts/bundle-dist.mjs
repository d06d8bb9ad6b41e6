// Part of `npm run build`, after tsc: bundles dist/'s JavaScript into one file per entry point
// (package.json "exports" and "bin") plus shared chunks, and removes the per-module files tsc
// wrote (the .d.ts declarations stay). Why: Node resolves, reads and compiles every module of an
// import graph one by one, and for quiverdb's ~130 modules that was most of the 100 ms it took
// to import the package; the bundle loads in a fraction of that. Behaviour is unchanged: the
// bundle is tsc's output, linked by esbuild with dependencies left as imports, and code that only
// one entry uses stays in that entry's file (so the CLI's own modules load only with the CLI).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const entries = new Set();
for (const target of Object.values(pkg.exports)) {
  const file = typeof target === 'string' ? target : target.import;
  if (typeof file === 'string' && file.endsWith('.js')) entries.add(path.join(root, file));
}
for (const file of Object.values(pkg.bin)) entries.add(path.join(root, file));
// Loaded by path, not imported: the writer's shipping thread (src/replica/ship-thread.ts looks
// for it at dist/replica/ship-worker.js).
entries.add(path.join(dist, 'replica', 'ship-worker.js'));

const staging = path.join(root, '.tmp', 'bundle');
fs.rmSync(staging, { recursive: true, force: true });
await build({
  entryPoints: [...entries],
  outbase: dist,
  outdir: staging,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
});

// tsc's JavaScript goes; its declarations stay for the types.
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.js(\.map)?$/.test(e.name)) fs.rmSync(p);
  }
};
walk(dist);
fs.cpSync(staging, dist, { recursive: true });
fs.rmSync(staging, { recursive: true, force: true });
for (const file of Object.values(pkg.bin)) fs.chmodSync(path.join(root, file), 0o755);
