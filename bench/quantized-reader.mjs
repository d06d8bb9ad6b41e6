// One reader process for bench/quantized.ts: `node quantized-reader.mjs <dir> <queries.bin>
// <spawnedAt> <queries> <ef>`, QUIVER_CODES=0|1 in its environment. It opens the database
// read-only through the built package (dist/), answers one query (the first answer, timed from
// the parent's spawn), then <queries> more at <ef>, and prints its memory from /proc: the
// smaps_rollup totals and, per mapped file of the database, the resident and proportional bytes.
// It never runs an exact search (that reads every float32 vector: the cold part).
import * as fs from 'node:fs';
const [dir, queriesFile, spawnedAt, count, ef] = process.argv.slice(2);
const raw = fs.readFileSync(queriesFile);
const dim = raw.readUInt32LE(0);
const n = raw.readUInt32LE(4);
const query = (i) => new Float32Array(raw.buffer, raw.byteOffset + 8 + (i % n) * dim * 4, dim);
const { open } = await import('../dist/index.js');
const db = await open(dir, { readOnly: true });
const v = db.vault('v');
await v.search(query(0), { k: 10, ef: 10 });
const first = Date.now() - Number(spawnedAt);
const t = performance.now();
for (let i = 1; i <= Number(count); i++) await v.search(query(i), { k: 10, ef: Number(ef) });
const qps = Number(count) / ((performance.now() - t) / 1000);
const rollup = {};
for (const line of fs.readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
  const m = /^(\w+):\s+(\d+) kB/.exec(line);
  if (m) rollup[m[1]] = Number(m[2]) * 1024;
}
// Per mapping: a header line names the file, the lines after it give its Rss and Pss.
const files = {};
let current = null;
for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
  const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s+(.*)$/.exec(line);
  if (head) {
    const name = head[1].includes('/segments/') ? head[1].slice(head[1].lastIndexOf('/') + 1).replace(/^vault_\d+_\d+/, 'vault') : null;
    current = name ? (files[name] ??= { rss: 0, pss: 0 }) : null;
    continue;
  }
  const m = /^(Rss|Pss):\s+(\d+) kB/.exec(line);
  if (m && current) current[m[1].toLowerCase()] += Number(m[2]) * 1024;
}
const heap = process.memoryUsage();
process.stdout.write(JSON.stringify({ first, qps, rollup, files, heap: { used: heap.heapUsed, total: heap.heapTotal, external: heap.external, arrayBuffers: heap.arrayBuffers }, quantized: db.stats().vaults[0].index.quantized === true }) + '\n');
await db.close();
