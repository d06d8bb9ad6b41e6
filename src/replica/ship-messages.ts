import * as errors from '../errors.js';
import type { S3Options } from '../object-store/s3-store.js';
import { ObjectStoreError, PreconditionFailed } from '../object-store/store.js';
import type { ShipProgress, ShipperOptions } from './ship-types.js';

/** What the writer gives its shipping thread (ship-worker.ts): all of it plain data. */
export interface ShipWorkerData {
  dir: string;
  url: string;
  s3: S3Options;
  options: Omit<ShipperOptions, 'localLsn'>;
  /** The writer's last LSN when it started shipping (no write can come before open() returns). */
  localLsn: number;
}

/** Writer to thread. Every request is answered by a `done` with its id. */
export type ToShipper = { type: 'capture'; id: number } | { type: 'stop'; id: number; timeoutMs: number };

/** Thread to writer. `progress` follows every change, so the writer's stats() never waits. */
export type FromShipper =
  | { type: 'started'; progress: ShipProgress }
  | { type: 'failed'; error: SentError }
  | { type: 'progress'; progress: ShipProgress }
  | { type: 'lost'; error: SentError }
  | { type: 'done'; id: number; error?: SentError };

/** An error as data: a structured clone keeps only the message of an Error subclass, not its class or code. */
export interface SentError {
  name: string;
  message: string;
  stack: string | undefined;
  /** Own fields (code, field, holder, path, ...), where they survive JSON. */
  fields: Record<string, unknown>;
  cause: SentError | undefined;
}

type AnyErrorClass = abstract new (...args: never[]) => Error;
const CLASSES: Record<string, AnyErrorClass> = {
  ConfigError: errors.ConfigError,
  ValidationError: errors.ValidationError,
  StorageError: errors.StorageError,
  LockedError: errors.LockedError,
  CorruptionError: errors.CorruptionError,
  SchemaError: errors.SchemaError,
  EmbedderDriftError: errors.EmbedderDriftError,
  QuotaExceededError: errors.QuotaExceededError,
  NotFoundError: errors.NotFoundError,
  ConflictError: errors.ConflictError,
  ObjectStoreError,
  PreconditionFailed,
};

export function sendError(err: unknown, depth = 0): SentError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), stack: undefined, fields: {}, cause: undefined };
  let fields: Record<string, unknown> = {};
  try {
    const { message: _m, stack: _s, cause: _c, ...own } = Object.fromEntries(Object.entries(err));
    fields = JSON.parse(JSON.stringify(own)) as Record<string, unknown>;
  } catch {
    // Fields that do not serialize are left behind; the class, code and message are what callers test.
    fields = 'code' in err ? { code: (err as { code: unknown }).code } : {};
  }
  const cause = depth < 3 && err.cause !== undefined ? sendError(err.cause, depth + 1) : undefined;
  return { name: err.name, message: err.message, stack: err.stack, fields, cause };
}

/** The error again, of its own class (instanceof and code hold), without running its constructor. */
export function receiveError(sent: SentError): Error {
  const proto = (CLASSES[sent.name] ?? Error).prototype as Error;
  const err = Object.create(proto) as Error;
  Object.defineProperty(err, 'message', { value: sent.message, writable: true, configurable: true });
  Object.defineProperty(err, 'stack', { value: sent.stack, writable: true, configurable: true });
  Object.assign(err, sent.fields);
  if (sent.cause) Object.defineProperty(err, 'cause', { value: receiveError(sent.cause), writable: true, configurable: true });
  return err;
}
