import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const FLEET = fileURLToPath(new URL('./fleet.ts', import.meta.url));
const SCRIPTS = { child: CHILD, fleet: FLEET, fence: fileURLToPath(new URL('./fence-child.ts', import.meta.url)), race: fileURLToPath(new URL('./race-child.ts', import.meta.url)) };

export interface Child {
  proc: ChildProcess;
  lines: string[];
  exited: Promise<void>;
  /** Resolves when a line satisfying `test` has been printed. */
  waitFor(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  kill(): Promise<void>;
}

export function spawnChild(args: string[], script: keyof typeof SCRIPTS = 'child'): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', SCRIPTS[script], ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let partial = '';
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) if (w.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    proc,
    lines,
    exited,
    waitFor(test, timeoutMs = 20_000) {
      const found = lines.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not print the expected line in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ test, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        proc.on('exit', (code) => reject(new Error(`child exited (${code}) early; stderr: ${stderr}`)));
      });
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
