// Sidecar: CRC32C of each 64 KiB page of a file (what a checkpoint would write beside the graph).
import * as fs from 'node:fs';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const crc = require('fast-crc32c');
const f = process.argv[2], buf = fs.readFileSync(f), P = 1 << 16, n = Math.ceil(buf.length / P);
const out = new Uint32Array(n);
for (let i = 0; i < n; i++) out[i] = crc.calculate(buf.subarray(i * P, Math.min(buf.length, (i + 1) * P)));
fs.writeFileSync(f + '.sums', out);
console.log(f, n, 'pages');
