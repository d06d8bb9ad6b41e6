import { main } from '../../src/cli/main.js';
import { setSink } from '../../src/cli/output.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: () => any;
}

/** Runs `quiver ...args` in this process (main() never exits), capturing what it prints. */
export async function quiver(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const before = setSink({ out: (s) => void (stdout += s), err: (s) => void (stderr += s) });
  let code: number;
  try {
    code = await main(['node', 'quiver', ...args]);
  } finally {
    setSink(before);
  }
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
