// node --import tsx bench/graph-open/synthetic.ts <file> <N>: a synthetic hnswlib-layout graph of N x 384 (M 16) with random links, for timing a mapped open at 1M
// (the layout, sizes and level distribution are hnswlib's; the links are random, so recall means nothing).
import * as fs from 'node:fs';
const [file, nArg] = process.argv.slice(2) as [string, string];
const N = Number(nArg), DIM = 384, M = 16, M0 = 32;
const per = 4 + 4 * M0 + 4 * DIM + 8, dataOff = 4 + 4 * M0, labelOff = dataOff + 4 * DIM, perLevel = 4 + 4 * M;
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const levels = new Uint8Array(N);
for (let i = 0; i < N; i++) { let l = 0; while (rnd() < 1 / M && l < 20) l++; levels[i] = l; }
let maxLevel = 0, entry = 0;
for (let i = 0; i < N; i++) if (levels[i]! > maxLevel) { maxLevel = levels[i]!; entry = i; }
const byLevel: number[][] = Array.from({ length: maxLevel + 1 }, () => []);
for (let i = 0; i < N; i++) for (let l = 1; l <= levels[i]!; l++) byLevel[l]!.push(i);
const fd = fs.openSync(file, 'w');
const h = Buffer.alloc(96);
h.writeBigUInt64LE(0n, 0); h.writeBigUInt64LE(BigInt(N), 8); h.writeBigUInt64LE(BigInt(N), 16); h.writeBigUInt64LE(BigInt(per), 24);
h.writeBigUInt64LE(BigInt(labelOff), 32); h.writeBigUInt64LE(BigInt(dataOff), 40); h.writeInt32LE(maxLevel, 48); h.writeUInt32LE(entry, 52);
h.writeBigUInt64LE(BigInt(M), 56); h.writeBigUInt64LE(BigInt(M0), 64); h.writeDoubleLE(1 / Math.log(M), 72); h.writeBigUInt64LE(200n, 80);
fs.writeSync(fd, h);
const pool = Buffer.alloc(4 * DIM * 1024);
for (let i = 0; i < DIM * 1024; i++) pool.writeFloatLE(rnd() * 2 - 1, i * 4);
const batch = 4096;
const buf = Buffer.alloc(per * batch);
for (let from = 0; from < N; from += batch) {
  const k = Math.min(batch, N - from);
  for (let j = 0; j < k; j++) {
    const o = j * per, i = from + j;
    buf.writeUInt32LE(M0, o);
    for (let x = 0; x < M0; x++) buf.writeUInt32LE(Math.floor(rnd() * N), o + 4 + 4 * x);
    pool.copy(buf, o + dataOff, (i % 1024) * 4 * DIM, ((i % 1024) + 1) * 4 * DIM);
    buf.writeBigUInt64LE(BigInt(i), o + labelOff);
  }
  fs.writeSync(fd, buf.subarray(0, k * per));
}
const parts: Buffer[] = [];
for (let i = 0; i < N; i++) {
  const l = levels[i]!;
  const b = Buffer.alloc(4 + l * perLevel);
  b.writeUInt32LE(l * perLevel, 0);
  for (let lv = 1; lv <= l; lv++) {
    const o = 4 + (lv - 1) * perLevel, ids = byLevel[lv]!;
    b.writeUInt16LE(Math.min(M, ids.length - 1), o);
    for (let x = 0; x < Math.min(M, ids.length - 1); x++) b.writeUInt32LE(ids[Math.floor(rnd() * ids.length)]!, o + 4 + 4 * x);
  }
  parts.push(b);
  if (parts.length === 65536) { fs.writeSync(fd, Buffer.concat(parts)); parts.length = 0; }
}
fs.writeSync(fd, Buffer.concat(parts));
fs.closeSync(fd);
console.log(`wrote ${file}: ${fs.statSync(file).size} bytes, max level ${maxLevel}, ${byLevel[1]!.length} upper elements`);
