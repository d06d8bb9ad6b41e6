import { CorruptionError, QuiverError } from '../errors.js';

/** Exit codes (README "The quiver command"). */
export const ExitCode = { ok: 0, error: 1, usage: 2, corruption: 3 } as const;

export interface OutputOptions {
  json?: boolean;
}

/** Prints `value` as JSON for scripts, or as indented `key: value` lines for people. */
export function print(value: unknown, options: OutputOptions, human?: () => string): void {
  if (options.json) {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  } else {
    process.stdout.write((human ? human() : describe(value, 0)) + '\n');
  }
}

export function describe(value: unknown, depth: number): string {
  const pad = '  '.repeat(depth);
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '(none)';
    return value.map((v) => (typeof v === 'object' && v !== null ? `\n${pad}- ${describe(v, depth + 1).trimStart()}` : `\n${pad}- ${String(v)}`)).join('');
  }
  return Object.entries(value)
    .map(([k, v]) => {
      const inner = describe(v, depth + 1);
      return typeof v === 'object' && v !== null && !(Array.isArray(v) && v.length === 0) ? `${pad}${k}:${inner.startsWith('\n') ? '' : '\n'}${inner}` : `${pad}${k}: ${inner}`;
    })
    .join('\n');
}

/** Reports an error and returns the exit code it deserves. */
export function reportError(err: unknown, options: OutputOptions): number {
  const code = err instanceof CorruptionError ? ExitCode.corruption : ExitCode.error;
  if (options.json) {
    const e = err as QuiverError;
    process.stdout.write(JSON.stringify({ error: { name: e?.name, code: e?.code ?? null, message: e?.message ?? String(err) } }, null, 2) + '\n');
  } else {
    const label = err instanceof QuiverError ? `${err.name} ${err.code}` : 'error';
    process.stderr.write(`quiver: ${label}: ${(err as Error)?.message ?? String(err)}\n`);
  }
  return code;
}
