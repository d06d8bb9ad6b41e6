import { ConfigError, ConflictError, NotFoundError, QuiverError, QuotaExceededError, StorageError, ValidationError } from '../errors.js';

/**
 * A failure with the HTTP status it answers with. The body is Qdrant's error shape,
 * `{ status: { error }, time }`, which Qdrant's clients surface as the error message.
 */
export class HttpError {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);

/** The status a quiverdb error answers with: client mistakes are 4xx, the rest 500. */
export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof ValidationError || err instanceof ConfigError || err instanceof QuotaExceededError) return 400;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof StorageError && err.code === 'READ_ONLY') return 403;
  if (err instanceof StorageError && (err.code === 'DATABASE_CLOSED' || err.code === 'DATABASE_FAILED')) return 503;
  return 500;
}

export function messageOf(err: unknown): string {
  if (err instanceof HttpError || err instanceof QuiverError) return err.message;
  // Anything else is a bug or an environment failure: say so without leaking internals.
  return 'internal error';
}
