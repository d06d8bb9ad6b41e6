import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { ExitCode, reportError, reportUsage, type OutputOptions } from './output.js';
import * as path from 'node:path';
import { open, type Database, type LocalOpenOptions as OpenOptions } from '../index.js';
import { isObjectStoreUrl } from '../object-store/url.js';

type Action = (...args: never[]) => Promise<number | void>;

/** The exit code of the action that ran last; main() reads and resets it (never process.exitCode, so tests can run in-process). */
let actionExit: number = ExitCode.ok;

export function takeActionExit(): number {
  const code = actionExit;
  actionExit = ExitCode.ok;
  return code;
}

/** A usage error raised inside an action (exit 2). */
export function usage(message: string): CommanderError {
  return new CommanderError(ExitCode.usage, 'quiver.usage', message);
}

/** Wraps a command so every failure becomes a message and an exit code, never a stack trace. */
export function run(action: Action) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const opts = command.optsWithGlobals() as OutputOptions;
    try {
      const code = await (action as (...a: unknown[]) => Promise<number | void>)(...args);
      actionExit = code ?? ExitCode.ok;
    } catch (err) {
      actionExit = err instanceof CommanderError ? reportUsage(err.message, opts) : reportError(err, opts);
    }
  };
}

/** Option parsers: a bad value is a usage error naming the flag (commander adds which). */
const integerIn = (min: number, what: string) => (value: string): number => {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be ${what}, got ${JSON.stringify(value)}`);
  return n;
};
export const positiveInteger = integerIn(1, 'a positive integer');
export const nonNegativeInteger = integerIn(0, 'a non-negative integer');
/** Kept for commands that accept any integer. */
export const integer = integerIn(Number.MIN_SAFE_INTEGER, 'an integer');

/** A time given as ISO 8601 or as milliseconds since the epoch. */
export const time = (value: string): number => {
  const n = /^-?\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`must be an ISO 8601 time or milliseconds, got ${JSON.stringify(value)}`);
  return n;
};

/**
 * The directory a local-only command opens. An `s3://` argument stays the local path it has
 * always been here (./s3:/bucket/...), with the same errors: the public open would take it for
 * an object-store replica. Object storage is reached by replicate, backup and restore.
 */
export function localPath(dbPath: string): string {
  return isObjectStoreUrl(dbPath) ? path.resolve(dbPath) : dbPath;
}

/**
 * Opens `dbPath`, runs `fn`, closes: the CLI's one way to hold a database for a command.
 * `write` true opens an existing database as the writer, false read-only; options say more.
 */
export async function withDb<T>(dbPath: string, write: boolean | OpenOptions, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await open(localPath(dbPath), typeof write === 'object' ? write : write ? { create: false } : { readOnly: true });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
