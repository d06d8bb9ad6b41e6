/**
 * Every error quiverdb raises is a QuiverError with a stable `code`.
 * Codes are part of the public contract (README, "Errors"): they do not change between
 * major versions; messages may.
 */

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'IO_ERROR'
  | 'READ_ONLY'
  | 'DATABASE_CLOSED'
  | 'DATABASE_FAILED'
  | 'LOCKED'
  | 'LOCK_COMPROMISED'
  | 'CORRUPTION'
  | 'SCHEMA_VERSION_ABSENT'
  | 'SCHEMA_TOO_NEW'
  | 'SCHEMA_MIGRATION_MISSING'
  | 'EMBEDDER_DRIFT'
  | 'QUOTA_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT';

export interface QuiverErrorOptions {
  cause?: unknown;
}

export abstract class QuiverError extends Error {
  abstract readonly code: ErrorCode;

  constructor(message: string, options?: QuiverErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

export class ConfigError extends QuiverError {
  readonly code: 'CONFIG_INVALID' | 'CONFIG_MISMATCH';
  /** The option at fault, e.g. `dimension`. */
  readonly field: string;

  constructor(code: ConfigError['code'], field: string, message: string, options?: QuiverErrorOptions) {
    super(message, options);
    this.code = code;
    this.field = field;
  }
}

export class ValidationError extends QuiverError {
  readonly code = 'INVALID_ARGUMENT' as const;
  /** The argument at fault, e.g. `vector[3]` or `payload`. */
  readonly field: string;

  constructor(field: string, message: string, options?: QuiverErrorOptions) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

export class StorageError extends QuiverError {
  readonly code: 'IO_ERROR' | 'READ_ONLY' | 'DATABASE_CLOSED' | 'DATABASE_FAILED';
  readonly path: string | undefined;

  constructor(code: StorageError['code'], message: string, options?: QuiverErrorOptions & { path?: string }) {
    super(message, options);
    this.code = code;
    this.path = options?.path;
  }
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export class LockedError extends QuiverError {
  readonly code: 'LOCKED' | 'LOCK_COMPROMISED';
  readonly holder: LockHolder | undefined;

  constructor(code: LockedError['code'], message: string, options?: QuiverErrorOptions & { holder?: LockHolder }) {
    super(message, options);
    this.code = code;
    this.holder = options?.holder;
  }
}

export class CorruptionError extends QuiverError {
  readonly code = 'CORRUPTION' as const;
  /** Path of the corrupt file, relative to the database directory. */
  readonly file: string;
  readonly offset: number | undefined;

  constructor(file: string, message: string, options?: QuiverErrorOptions & { offset?: number }) {
    super(`${file}: ${message}`, options);
    this.file = file;
    this.offset = options?.offset;
  }
}

export class SchemaError extends QuiverError {
  readonly code: 'SCHEMA_VERSION_ABSENT' | 'SCHEMA_TOO_NEW' | 'SCHEMA_MIGRATION_MISSING';
  readonly found: number | undefined;
  readonly supported: number;

  constructor(code: SchemaError['code'], message: string, found: number | undefined, supported: number) {
    super(message);
    this.code = code;
    this.found = found;
    this.supported = supported;
  }
}

export interface DriftField {
  field: string;
  stored: unknown;
  given: unknown;
}

export class EmbedderDriftError extends QuiverError {
  readonly code = 'EMBEDDER_DRIFT' as const;
  readonly differences: readonly DriftField[];

  constructor(differences: readonly DriftField[]) {
    super(
      'the embedder differs from the one that produced this database: ' +
        differences.map((d) => `${d.field} (stored ${JSON.stringify(d.stored)}, given ${JSON.stringify(d.given)})`).join(', '),
    );
    this.differences = differences;
  }
}

export class QuotaExceededError extends QuiverError {
  readonly code = 'QUOTA_EXCEEDED' as const;
  readonly vault: string;
  readonly quota: 'maxRecords' | 'maxBytes';
  readonly limit: number;
  readonly wouldBe: number;

  constructor(vault: string, quota: QuotaExceededError['quota'], limit: number, wouldBe: number) {
    super(`vault "${vault}": ${quota} ${limit} would be exceeded (${wouldBe})`);
    this.vault = vault;
    this.quota = quota;
    this.limit = limit;
    this.wouldBe = wouldBe;
  }
}

export class NotFoundError extends QuiverError {
  readonly code = 'NOT_FOUND' as const;
  readonly what: string;

  constructor(what: string, message: string) {
    super(message);
    this.what = what;
  }
}

export class ConflictError extends QuiverError {
  readonly code: 'ALREADY_EXISTS' | 'CONFLICT';

  constructor(code: ConflictError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Wraps a Node I/O failure, keeping its errno code reachable through `cause`. `path` names what
 * the caller was doing it to (often the database directory); the error's `path` is the file
 * that failed when the errno error names one, as Node's do.
 */
export function ioError(action: string, path: string, cause: unknown): StorageError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new StorageError('IO_ERROR', `${action} ${path} failed${errno ? ` (${errno})` : ''}`, { cause, path: errnoPath(cause) ?? path });
}

/** The file a Node errno error names (an fd-only call such as fsync names none). */
export function errnoPath(cause: unknown): string | undefined {
  const file = (cause as NodeJS.ErrnoException | undefined)?.path;
  return typeof file === 'string' && file.length > 0 ? file : undefined;
}
