// Disk bytes of a bench database by kind, for bench/memory.ts. Files are classified by name, so a
// file kind added later (a checksum sidecar, a vector map) shows up as "other" under its own name
// rather than being missed or folded into a known kind.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DiskReport {
  lines: string[];
  /** Total bytes of every file under the database directory. */
  total: number;
  /** Bytes of the saved graphs (*.hnsw), which carry a copy of each vector today. */
  graph: number;
}

function walk(dir: string, rel = ''): { rel: string; size: number }[] {
  const out: { rel: string; size: number }[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else if (e.isFile()) out.push({ rel: r, size: fs.statSync(path.join(dir, r)).size });
  }
  return out;
}

/** Payload bytes by section kind of a sectioned file (FORMAT.md "Sectioned files"), reading only its headers. */
function sectionBytes(file: string): Map<number, number> {
  const out = new Map<number, number>();
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    let at = 16;
    for (let i = 0, n = head.readUInt32LE(8); i < n; i++) {
      fs.readSync(fd, head, 0, 16, at);
      const length = Number(head.readBigUInt64LE(0));
      out.set(head.readUInt32LE(8), (out.get(head.readUInt32LE(8)) ?? 0) + length);
      at += 16 + length + ((8 - (length % 8)) % 8);
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

const VECTORS = 3;
const GRAPH_VECTORS = 12;

/**
 * `vectorBytes` is N·D·4, the float32 vectors once; `payloadBytes` what the records carry beside
 * them (ids and payloads). A segment's VECTORS section (version 1) counts as "segment vectors",
 * its GRAPH_VECTORS section (version 2: the vectors live in the graph; each row's element and
 * cosine correction) as "segment graph rows", the rest (ids, payloads, indexes, headers) as
 * "segment other". Graph links are the saved graph less the copy of the vectors it carries.
 */
export function diskByKind(dbDir: string, vectorBytes: number, payloadBytes: number): DiskReport {
  const kinds = new Map<string, number>([['segment vectors', 0], ['segment graph rows', 0], ['segment other', 0], ['graph', 0], ['graph sidecar', 0], ['log', 0]]);
  const others: string[] = [];
  const add = (k: string, n: number) => kinds.set(k, (kinds.get(k) ?? 0) + n);
  let total = 0;
  for (const f of walk(dbDir)) {
    total += f.size;
    const name = path.basename(f.rel);
    if (/^segments\/vault_\d+_\d+\.segment$/.test(f.rel)) {
      const sections = sectionBytes(path.join(dbDir, f.rel));
      const vectors = sections.get(VECTORS) ?? 0;
      const rows = sections.get(GRAPH_VECTORS) ?? 0;
      add('segment vectors', vectors);
      add('segment graph rows', rows);
      add('segment other', f.size - vectors - rows);
    } else if (/^segments\/vault_\d+_\d+\.hnsw$/.test(f.rel)) add('graph', f.size);
    else if (/^segments\/vault_\d+_\d+\.hnsw\.meta$/.test(f.rel)) add('graph sidecar', f.size);
    else if (name === 'wal.log' || name === 'wal.kept') add('log', f.size);
    else {
      add('other', f.size);
      others.push(`${f.rel} ${f.size}`);
    }
  }
  if (!kinds.has('other')) kinds.set('other', 0);
  const graph = kinds.get('graph')!;
  const links = Math.max(0, graph - vectorBytes);
  const floor = vectorBytes + links + payloadBytes;
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  const lines = ['| kind | MB | share |', '|---|---|---|'];
  for (const [k, n] of kinds) lines.push(`| ${k} | ${mb(n)} | ${((100 * n) / total).toFixed(1)}% |`);
  lines.push(`| total | ${mb(total)} | 100% |`);
  lines.push('');
  lines.push(`vectors ${mb(vectorBytes)} MB + graph links ${mb(links)} MB (graph ${mb(graph)} MB less its vector copy) + ids/payloads ${mb(payloadBytes)} MB = ${mb(floor)} MB; total ÷ that = ${(total / floor).toFixed(2)}x (target <= 1.15x)`);
  if (others.length) lines.push(`other files: ${others.join(', ')}`);
  return { lines, total, graph };
}
