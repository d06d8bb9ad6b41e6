// Writes <graph>.meta beside a graph file with the checkpoint's own code: node --import tsx bench/graph-open/sidecar.ts <graph.hnsw>
import * as fs from 'node:fs';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { summarizeGraph } from '../../src/segments/graph-sidecar.js';
const file = process.argv[2]!;
const t = performance.now();
const { chunks } = await summarizeGraph(nodeFileSystem, file, 'g');
fs.writeFileSync(`${file}.meta`, Buffer.concat(chunks));
console.log(`sidecar ${fs.statSync(`${file}.meta`).size} bytes in ${((performance.now() - t) / 1000).toFixed(2)} s`);
