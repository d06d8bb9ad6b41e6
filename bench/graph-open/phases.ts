// The graph's part of a mapped reader's open, timed alone in this process (#19 step 2):
//   node --import tsx bench/graph-open/phases.ts <graph.hnsw> whole|paged
// whole: the file's CRC32C (as for a graph saved without a sidecar), then the addon's open, which
// walks every element; paged: the sidecar <graph>.hnsw.meta, then the addon's open by it. Then one
// search at ef 10 and 20 at ef 64. RSS after open shows what the open touched. Make the sidecar
// with sidecar.ts, and a synthetic graph of any size with synthetic.ts. Run under the bench lock.
import * as fs from 'node:fs';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { checksumFile } from '../../src/fs/checksum.js';
import { decodeGraphSidecar } from '../../src/segments/graph-sidecar.js';
import { MappedGraph } from '../../src/native/mapped-graph.js';
const [file, mode, dimArg] = process.argv.slice(2) as [string, string, string | undefined];
const DIM = Number(dimArg ?? 384);
const rss = () => Math.round(Number(fs.readFileSync('/proc/self/smaps_rollup', 'utf8').match(/^Rss:\s+(\d+)/m)![1]) / 1024);
const t0 = performance.now();
let g: MappedGraph;
if (mode === 'whole') {
  await checksumFile(nodeFileSystem, file);
  g = MappedGraph.open(file, 'g', 'cosine', DIM);
} else {
  g = MappedGraph.open(file, 'g', 'cosine', DIM, decodeGraphSidecar(fs.readFileSync(`${file}.meta`), 'm'));
}
const t1 = performance.now();
const rssOpen = rss();
g.search(Float32Array.from({ length: DIM }, (_, i) => Math.sin(i)), 10, 10, null, null, null);
const t2 = performance.now();
for (let i = 0; i < 20; i++) g.search(Float32Array.from({ length: DIM }, (_, j) => Math.sin(i * 13 + j)), 10, 64, null, null, null);
const t3 = performance.now();
console.log(JSON.stringify({ mode, graphOpen: +(t1 - t0).toFixed(1), firstSearch: +(t2 - t1).toFixed(1), next20: +(t3 - t2).toFixed(1), rssAfterOpenMB: rssOpen, rssMB: rss() }));
