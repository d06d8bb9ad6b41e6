// One reader for bench/graph-open/reader-open.mjs: import the package, open read-only, answer one query.
const [dist, dir, spawnedAt] = process.argv.slice(2);
const t0 = performance.now();
const { open } = await import(dist);
const t1 = performance.now();
const db = await open(dir, { readOnly: true, ...(process.env.VERIFY ? { verify: process.env.VERIFY } : {}) });
const t2 = performance.now();
const v = db.vault('v');
const dim = Number(process.env.DIM ?? 384);
const q = Float32Array.from({ length: dim }, (_, i) => Math.sin(i));
await v.search(q, { k: 10 });
const t3 = performance.now();
const first = Date.now() - Number(spawnedAt);
const mapped = db.stats().vaults[0].index.mapped === true;
process.stdout.write(JSON.stringify({ first, imported: Math.round(t1 - t0), open: Math.round(t2 - t1), search: Math.round(t3 - t2), mapped }) + '\n');
process.exit(0);
