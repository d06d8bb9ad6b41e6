/**
 * The object-store seam: the few operations quiverdb needs from S3-compatible storage.
 * Keys are relative to the store's prefix. Implementations map their own failures to
 * ObjectStoreError (retryable or not) and PreconditionFailed (a conditional write lost).
 */

export interface ObjectInfo {
  key: string;
  size: number;
  /** The entity tag without quotes (RGW honours If-Match only when it is sent unquoted). */
  etag: string;
  lastModified: number;
}

export interface StoredObject {
  body: Buffer;
  etag: string;
}

export interface PutConditions {
  /** Write only when the object's current etag is this one. */
  ifMatch?: string;
  /** Write only when no object has this key. */
  ifAbsent?: boolean;
}

export interface ObjectStore {
  /** Human-readable location, for messages: s3://bucket/prefix. */
  readonly url: string;
  put(key: string, body: Uint8Array, conditions?: PutConditions): Promise<{ etag: string }>;
  /** The whole object, or null when it does not exist. */
  get(key: string): Promise<StoredObject | null>;
  /** Bytes [start, end) of the object, or null when it does not exist. */
  getRange(key: string, start: number, end: number): Promise<Buffer | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the objects; a key that does not exist is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Fails every request under way now (ObjectStoreError, retryable); later requests go out as usual. Optional: a store without it lets requests run to their own timeout. */
  abort?(): void;
  close(): void;
}

/** A conditional write found the object in another state than the condition required. */
export class PreconditionFailed extends Error {
  constructor(readonly key: string) {
    super(`precondition failed writing ${key}`);
    this.name = 'PreconditionFailed';
  }
}

/** Any other failure of the store; `retryable` is false for refusals that will not change (auth, no bucket). */
export class ObjectStoreError extends Error {
  constructor(message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}
