import { CorruptionError, QuiverError } from '../errors.js';
import { cliMessage, flagFor } from './flags.js';

/** Exit codes (README "The quiver command"). */
export const ExitCode = { ok: 0, error: 1, usage: 2, corruption: 3 } as const;

export interface OutputOptions {
  json?: boolean;
}

/** Where the CLI writes; swapped by tests that run the program in-process. */
export interface Sink {
  out(text: string): void;
  err(text: string): void;
}

export const processSink: Sink = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };
let sink: Sink = processSink;

export function setSink(next: Sink): Sink {
  const before = sink;
  sink = next;
  return before;
}

export const output = {
  out: (text: string): void => sink.out(text),
  err: (text: string): void => sink.err(text),
};

/** Prints `value` as JSON for scripts, or as indented `key: value` lines for people. */
export function print(value: unknown, options: OutputOptions, human?: () => string): void {
  if (options.json) output.out(JSON.stringify(value, null, 2) + '\n');
  else output.out((human ? human() : describe(value, 0)) + '\n');
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

/**
 * Every structured field an error carries (`field`, `holder`, `differences`, `file`, `offset`,
 * `quota`, ...), for --json: the same data the API's error objects have, plus the CLI flag.
 */
function errorFields(err: unknown): Record<string, unknown> {
  const e = err as Error & Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (k !== 'name' && k !== 'message' && k !== 'stack' && k !== 'cause' && v !== undefined) fields[k] = v;
  const flag = typeof e.field === 'string' ? flagFor(e.field) : undefined;
  if (flag) fields.flag = flag;
  if (e.cause instanceof Error) fields.cause = e.cause.message;
  return fields;
}

/** Reports an error and returns the exit code it deserves. */
export function reportError(err: unknown, options: OutputOptions): number {
  const code = err instanceof CorruptionError ? ExitCode.corruption : ExitCode.error;
  const message = err instanceof QuiverError ? cliMessage(err) : ((err as Error)?.message ?? String(err));
  if (options.json) {
    const e = err as QuiverError;
    output.out(JSON.stringify({ error: { name: e?.name ?? 'Error', code: e?.code ?? null, message, ...errorFields(err) } }, null, 2) + '\n');
  } else {
    const label = err instanceof QuiverError ? `${err.name} ${err.code}` : 'error';
    output.err(`quiver: ${label}: ${message}\n`);
  }
  return code;
}

/** A usage error (bad flag, missing argument): exit 2, as JSON too under --json. */
export function reportUsage(message: string, options: OutputOptions, extra: Record<string, unknown> = {}): number {
  const text = message.replace(/^error: /, '');
  if (options.json) output.out(JSON.stringify({ error: { name: 'UsageError', code: 'USAGE', message: text, ...extra } }, null, 2) + '\n');
  else output.err(`quiver: ${text}\n`);
  return ExitCode.usage;
}
