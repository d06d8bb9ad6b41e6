import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Database } from '../../src/index.js';
import { tmpDir } from '../helpers/tmp.js';

export const DIM = 8;
export const vec = (r: () => number): number[] => Array.from({ length: DIM }, r);

/** Polls `test` (no timed assertion: the timeout only stops a hung test). */
export async function until(what: string, test: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Everything a database's state exports to, file by file (export is deterministic). */
export async function exportBytes(db: Database): Promise<Record<string, string>> {
  const dir = path.join(tmpDir(), 'export');
  await db.export(dir);
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r)).toString('base64');
    }
  };
  walk('');
  return out;
}

/** Waits until the writer's shipped LSN (named by a root the store accepted) reaches its last LSN. */
export async function shipped(db: Database): Promise<number> {
  await until('shipping to catch up', () => {
    const s = db.stats();
    return s.replication?.shippedLsn === s.lastLsn;
  });
  return db.stats().lastLsn;
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export function quiver(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: { ...process.env, AWS_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.S3_SECRET_KEY } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface Proc {
  lines: string[];
  exited: Promise<number | null>;
  pid: number;
  waitFor(test: (line: string) => boolean, ms?: number): Promise<string>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs test/object-store/child.ts in its own process, collecting its output lines. */
export function child(...args: string[]): Proc {
  const proc = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    lines,
    exited,
    pid: proc.pid!,
    async waitFor(test, ms = 120_000) {
      let found: string | undefined;
      let done = false;
      void exited.then(() => (done = true));
      await until(`a line from child ${args[0]}`, () => {
        found = lines.find(test);
        if (!found && done) throw new Error(`child ${args[0]} exited: ${stderr.slice(-2000)}`);
        return found !== undefined;
      }, ms);
      return found!;
    },
    kill: (signal) => void proc.kill(signal),
  };
}
