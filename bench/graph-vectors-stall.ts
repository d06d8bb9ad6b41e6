// The event loop's longest gap while a checkpoint builds GRAPH_VECTORS (issue #19: no stall over
// 50 ms during a checkpoint), without a database of that size: a synthetic graph file in
// hnswlib's level-0 layout (header, then per element links, the unit vector, the label) and a
// heap of record objects like a writer's, then encodeGraphVectors as a checkpoint calls it.
//
//   node --max-old-space-size=8000 --import tsx bench/graph-vectors-stall.ts [--n 788000] [--rounds 3] [--work /tmp/quiver-gv-stall]
//
// Prints per round the time, payload bytes and the longest gap of a 1 ms timer chain (the first
// round runs the encoder unoptimised, as a process's first checkpoint does).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeGraphVectors } from '../src/segments/graph-vectors-encode.js';
import { nodeFileSystem } from '../src/fs/file-system.js';
import { seededRandom } from '../src/util/random.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const n = Number(flag('n', '788000'));
const rounds = Number(flag('rounds', '3'));
const work = flag('work', '/tmp/quiver-gv-stall');
const d = 384;
const M = 16;
const linkBytes = 4 + 2 * M * 4;
const per = linkBytes + 4 * d + 8;
const dataOff = linkBytes;
const labelOff = linkBytes + 4 * d;

fs.mkdirSync(work, { recursive: true });
const file = path.join(work, 'graph.bin');
const rand = seededRandom(12345);
const records: { id: string; label: number; vector: Float32Array; payload: object }[] = [];
const fd = fs.openSync(file, 'w');
try {
  const header = Buffer.alloc(96);
  header.writeBigUInt64LE(BigInt(n), 16);
  header.writeBigUInt64LE(BigInt(per), 24);
  header.writeBigUInt64LE(BigInt(labelOff), 32);
  header.writeBigUInt64LE(BigInt(dataOff), 40);
  fs.writeSync(fd, header);
  const batch = 4096;
  const buf = Buffer.alloc(batch * per);
  const floats = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  for (let e0 = 0; e0 < n; e0 += batch) {
    const e1 = Math.min(n, e0 + batch);
    buf.fill(0);
    for (let e = e0; e < e1; e++) {
      const v = Float32Array.from({ length: d }, () => rand() - 0.5);
      // hnswlib-node's normalizePoint: a float32 sum of float32 squares, its sqrt, then v / |v|.
      let sum = 0;
      for (let j = 0; j < d; j++) sum = Math.fround(sum + Math.fround(v[j]! * v[j]!));
      const norm = Math.fround(Math.sqrt(sum));
      const at = (e - e0) * per;
      for (let j = 0; j < d; j++) floats[(at + dataOff) / 4 + j] = v[j]! / norm;
      buf.writeBigUInt64LE(BigInt(e + 1), at + labelOff);
      records.push({ id: `r${e}`, label: e + 1, vector: v, payload: { n: e, tag: `t${e % 10}` } });
    }
    fs.writeSync(fd, buf.subarray(0, (e1 - e0) * per));
  }
} finally {
  fs.closeSync(fd);
}

const rows = { length: n, label: (row: number) => records[row]!.label, vector: (row: number) => records[row]!.vector };
let last = performance.now();
let worst = 0;
const timer = setInterval(() => {
  const now = performance.now();
  worst = Math.max(worst, now - last);
  last = now;
}, 1);
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
for (let round = 0; round < rounds; round++) {
  worst = 0;
  last = performance.now();
  const t0 = performance.now();
  const parts = (await encodeGraphVectors(nodeFileSystem, file, rows, d, 'cosine'))?.parts;
  await new Promise((resolve) => setTimeout(resolve, 50));
  const bytes = parts ? parts.reduce((sum, p) => sum + p.byteLength, 0) : 0;
  console.log(JSON.stringify({ round, n, ms: Math.round(performance.now() - t0), payloadBytes: bytes, longestGapMs: Number(worst.toFixed(1)), load: load() }));
}
clearInterval(timer);
fs.rmSync(work, { recursive: true, force: true });
