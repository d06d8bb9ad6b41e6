// One reader process for bench/memory.ts: opens the database read-only through the built package
// (dist/), answers one query (the first answer, timed from the parent's spawn), then enough more
// at ef 128 to touch most of the graph, reports, and stays alive until its stdin closes so the
// parent can read /proc/<pid>/smaps_rollup with every reader alive at once.
import * as fs from 'node:fs';
const [dir, queriesFile, spawnedAt, touches] = process.argv.slice(2);
const t0 = performance.now();
const { open } = await import('../dist/index.js');
const db = await open(dir, { readOnly: true });
const raw = fs.readFileSync(queriesFile);
const dim = raw.readUInt32LE(0);
const count = raw.readUInt32LE(4);
const query = (i) => new Float32Array(raw.buffer, raw.byteOffset + 8 + (i % count) * dim * 4, dim);
const v = db.vault('v');
await v.search(query(0), { k: 10 });
const first = { sinceSpawn: Date.now() - Number(spawnedAt), sinceScript: Math.round(performance.now() - t0) };
for (let i = 1; i < Number(touches); i++) await v.search(query(i), { k: 10, ef: 128 });
// An exact search waits for the segment's vectors, which every reader still loads privately
// (step 3 of #19 removes that copy): the figure is the steady state, not a half-loaded one.
await v.search(query(0), { k: 1, exact: true });
const mapped = db.stats().vaults[0].index.mapped === true;
process.stdout.write(JSON.stringify({ pid: process.pid, first, mapped }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => db.close().then(() => process.exit(0)));
