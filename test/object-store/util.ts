import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open, type Database } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { ROOT_KEY, ROOT_MAGIC, decodeJson, type Root } from '../../src/replica/layout.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { endpoint, freshUrl, s3Options } from './env.js';

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

/** The environment a `quiver` child needs to reach the store. */
const quiverEnv = (): NodeJS.ProcessEnv => ({ ...process.env, AWS_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.S3_SECRET_KEY, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

export function quiver(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--no-warnings', '--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: quiverEnv() });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `quiver replicate dir url` in its own process, a round every `intervalMs`; `stderr()` is what it printed so far. */
export function replicate(dir: string, url: string, intervalMs: number): { kill(signal: NodeJS.Signals): void; exited: Promise<number | null>; stderr(): string } {
  const proc = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', MAIN, 'replicate', dir, url, '--endpoint', endpoint!, '--interval-ms', String(intervalMs), '--status-ms', '0'], { env: quiverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return { kill: (signal) => proc.kill(signal), exited, stderr: () => stderr };
}

/** The root the bucket holds now, or null before the first one. */
export async function readRoot(store: S3Store): Promise<Root | null> {
  const obj = await store.get(ROOT_KEY);
  return obj ? decodeJson<Root>(ROOT_MAGIC, obj.body, ROOT_KEY) : null;
}

/** A shipped database with a checkpoint (segment + graph) and log chunks after it. */
export async function shippedDatabase(name: string): Promise<{ url: string; store: S3Store; root: Root }> {
  const url = await freshUrl(name);
  const r = seeded(5);
  const db = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
  const docs = await db.createVault('docs');
  for (let i = 0; i < 40; i++) await docs.insert(`a${i}`, vec(r));
  await db.checkpoint();
  for (let i = 0; i < 10; i++) await docs.insert(`b${i}`, vec(r));
  await shipped(db);
  await db.close();
  const store = await S3Store.open(url, s3Options());
  return { url, store, root: (await readRoot(store))! };
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
