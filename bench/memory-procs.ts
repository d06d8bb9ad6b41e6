// Reader processes for bench/memory.ts: spawn K of bench/memory-reader.mjs at once, read each one's
// /proc/<pid>/smaps_rollup while all are alive (PSS splits a shared page among the processes that
// map it, so shared pages count once in the sum), and time two of them answering at once.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** `mapped`: quiverdb's reader as shipped; `private`: quiverdb with QUIVER_NATIVE=0 (hnswlib-node readIndex); `raw`: hnswlib-node alone. */
export type Mode = 'bare node' | 'mapped' | 'private' | 'raw';
export interface Setup {
  dir: string;
  graphFile: string;
  queriesFile: string;
  touches: number;
}
interface Reader {
  proc: ChildProcessByStdio<Writable, Readable, null>;
  pid: number;
  first: number;
  mapped: boolean;
  next: () => Promise<{ qps: number }>;
}

export function rollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) / 1024;
  }
  return out;
}

export function memAvailableMb(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
}

function start(mode: Mode, s: Setup): Promise<Reader> {
  const env = { ...process.env, ...(mode === 'private' ? { QUIVER_NATIVE: '0' } : {}) };
  const argv =
    mode === 'bare node'
      ? ['-e', 'process.stdout.write(JSON.stringify({pid:process.pid,first:{sinceSpawn:0},mapped:false})+"\\n");process.stdin.resume()']
      : [path.join(HERE, 'memory-reader.mjs'), s.dir, s.queriesFile, String(Date.now()), String(s.touches), mode === 'raw' ? 'raw' : 'quiver', s.graphFile];
  const proc = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  let b = '';
  proc.stdout.on('data', (d) => {
    b += d;
    for (let nl = b.indexOf('\n'); nl >= 0; nl = b.indexOf('\n')) {
      const line = b.slice(0, nl);
      b = b.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  let failed: (e: Error) => void = () => undefined;
  const exited = new Promise<never>((_, reject) => (failed = reject));
  proc.on('exit', (code) => failed(new Error(`a ${mode} reader exited ${code}`)));
  exited.catch(() => undefined);
  const line = () => Promise.race([new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : waiting.push(resolve))), exited]);
  return line().then((l) => {
    const g = JSON.parse(l) as { pid: number; first: { sinceSpawn: number }; mapped: boolean };
    return { proc, pid: g.pid, first: g.first.sinceSpawn, mapped: g.mapped, next: () => line().then((x) => JSON.parse(x) as { qps: number }) };
  });
}

async function stop(kids: Reader[]): Promise<void> {
  for (const k of kids) k.proc.stdin.end();
  await Promise.all(kids.map((k) => new Promise((resolve) => (k.proc.exitCode !== null ? resolve(null) : k.proc.on('exit', resolve)))));
}

export interface Fleet {
  row: string;
  pss: number;
  anon: number;
  file: number;
  rss: number;
  firsts: number[];
}

/** K readers of one mode alive at once: one table row, and the PSS summed over them. */
export async function fleet(mode: Mode, k: number, s: Setup): Promise<Fleet> {
  const kids = await Promise.all(Array.from({ length: k }, () => start(mode, s)));
  const r = kids.map((g) => rollup(g.pid));
  await stop(kids);
  if (mode === 'mapped' && !kids.every((g) => g.mapped)) throw new Error('a mapped reader did not map');
  const sum = (key: string) => r.reduce((a, x) => a + (x[key] ?? 0), 0);
  const firsts = kids.map((g) => g.first).sort((a, b) => a - b);
  const row = `| ${k} | ${mode} | ${sum('Pss').toFixed(1)} | ${sum('Pss_Anon').toFixed(1)} | ${sum('Pss_File').toFixed(1)} | ${(sum('Rss') / k).toFixed(1)} | ${mode === 'bare node' ? '-' : `${firsts[0]}-${firsts.at(-1)}`} |`;
  return { row, pss: sum('Pss'), anon: sum('Pss_Anon'), file: sum('Pss_File'), rss: sum('Rss') / k, firsts };
}

/**
 * One mapped reader answering alone, then two answering at once, alternated `rounds` times
 * (1, 2, 2, 1, ...) so that drift in the machine's load falls on both: per round, the QPS summed
 * over the processes and their PSS summed while alive.
 */
export async function pairs(s: Setup, queries: number, ef: number, rounds: number): Promise<{ k: number; qps: number; pss: number }[]> {
  const out: { k: number; qps: number; pss: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const k of round % 2 === 0 ? [1, 2] : [2, 1]) {
      const kids = await Promise.all(Array.from({ length: k }, () => start('mapped', s)));
      const pss = kids.reduce((a, g) => a + (rollup(g.pid).Pss ?? 0), 0);
      for (const g of kids) g.proc.stdin.write(`go ${queries} ${ef}\n`);
      const got = await Promise.all(kids.map((g) => g.next()));
      await stop(kids);
      out.push({ k, qps: got.reduce((a, g) => a + g.qps, 0), pss });
    }
  }
  return out;
}
