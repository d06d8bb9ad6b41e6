// Reader open time, spawn to first answer (#19 step 2): node bench/graph-open/reader-open.mjs <db> <rounds> <label>=<package dir> ...
// Each round spawns one reader per package in turn (order rotated), each opening <db> read-only
// through that package's dist/ and answering one k 10 query. Prints the median and range of: spawn
// to first answer, import, open(), first search. Run under the bench lock; the load is printed.
// The database must be one both packages read (an older build ignores a graph's sidecar).
// VERIFY=lazy opens with verify 'lazy' (the first search does not wait for the segment's vectors).
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const [dir, roundsArg, ...pkgs] = process.argv.slice(2);
if (!dir || !pkgs.length) throw new Error('usage: node bench/graph-open/reader-open.mjs <db> <rounds> <label>=<package dir> ...');
const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'reader-open-child.mjs');
const engines = pkgs.map((p) => ({ label: p.split('=')[0], dist: path.resolve(p.split('=')[1], 'dist', 'index.js') }));
const rows = new Map(engines.map((e) => [e.label, []]));
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`reader open: ${dir}; ${roundsArg} rounds; verify ${process.env.VERIFY ?? 'full'}; load ${load()}`);
for (let round = 0; round < Number(roundsArg); round++) {
  for (let j = 0; j < engines.length; j++) {
    const e = engines[(round + j) % engines.length];
    const spawned = Date.now();
    const run = spawnSync(process.execPath, [child, e.dist, dir, String(spawned)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${e.label}: ${run.stderr}`);
    rows.get(e.label).push(JSON.parse(run.stdout.trim().split('\n').at(-1)));
  }
}
const stat = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]} (${s[0]}-${s.at(-1)})`;
};
console.log('| package | spawn to first answer ms | import ms | open() ms | first search ms | mapped |');
console.log('|---|---|---|---|---|---|');
for (const [label, r] of rows) console.log(`| ${label} | ${stat(r.map((x) => x.first))} | ${stat(r.map((x) => x.imported))} | ${stat(r.map((x) => x.open))} | ${stat(r.map((x) => x.search))} | ${r.every((x) => x.mapped)} |`);
console.log(`load after: ${load()}`);
