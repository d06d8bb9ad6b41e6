import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigError } from '../errors.js';
import { ObjectStoreError, PreconditionFailed, type ObjectInfo, type ObjectStore, type PutConditions, type StoredObject } from './store.js';
import { parseS3Url } from './url.js';
import { byCodeUnits } from '../util/code-units.js';

/** How to reach the bucket. Omitted fields come from the standard AWS chain (env, profile, instance role). */
export interface S3Options {
  /** An S3-compatible endpoint (Ceph radosgw, MinIO, R2). Omitted: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS S3. */
  endpoint?: string;
  region?: string;
  /** Bucket in the path, not the host name. Default true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Keys, or an SDK credential provider (a function: a shipping writer then ships in-process, README). */
  credentials?: S3Credentials | (() => Promise<S3Credentials>);
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

type Sdk = typeof import('@aws-sdk/client-s3');
let sdk: Promise<Sdk> | null = null;

/** The SDK is an optional peer dependency: loaded on first use of an s3:// URL, never before. */
function loadSdk(): Promise<Sdk> {
  sdk ??= import('@aws-sdk/client-s3').catch((err: unknown) => {
    sdk = null;
    throw new ConfigError('CONFIG_INVALID', 'url', 's3:// URLs need the optional peer dependency @aws-sdk/client-s3: npm install @aws-sdk/client-s3', { cause: err });
  });
  return sdk;
}

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** Maps an SDK failure: 412 is a lost condition; 4xx refusals other than throttling do not heal by retrying. */
function mapError(err: unknown, what: string, key: string): Error {
  const status = statusOf(err);
  const name = (err as Error)?.name;
  if (status === 412 || name === 'PreconditionFailed') return new PreconditionFailed(key);
  const retryable = status === undefined || status >= 500 || status === 429 || status === 408 || name === 'SlowDown';
  return new ObjectStoreError(`${what} ${key}: ${name ?? 'error'} ${status ?? ''} ${(err as Error)?.message ?? ''}`.trim(), retryable, { cause: err });
}

const isMissing = (err: unknown): boolean => statusOf(err) === 404 || (err as Error)?.name === 'NoSuchKey' || (err as Error)?.name === 'NotFound';

export class S3Store implements ObjectStore {
  /** Every request carries this signal; abort() swaps it for a fresh one (store.ts). */
  private requests = new AbortController();

  private constructor(
    private readonly api: Sdk,
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    readonly url: string,
  ) {}

  static async open(url: string, options: S3Options = {}): Promise<S3Store> {
    const { bucket, prefix } = parseS3Url(url);
    const api = await loadSdk();
    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // RGW 16 answers aws-chunked streaming uploads with 411; only send checksums a call requires.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The shipper has its own retry with backoff; an outage should surface quickly, not hang.
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 3000, requestTimeout: 60_000 },
    };
    // AWS_ENDPOINT_URL(_S3) is the standard variable; an endpoint of our own usually wants path-style.
    const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    if (endpoint) config.endpoint = endpoint;
    config.forcePathStyle = options.forcePathStyle ?? endpoint !== undefined;
    if (options.credentials) config.credentials = options.credentials;
    return new S3Store(api, new api.S3Client(config), bucket, prefix, url);
  }

  async createBucket(): Promise<void> {
    try {
      await this.client.send(new this.api.CreateBucketCommand({ Bucket: this.bucket }), this.abortable);
    } catch (err) {
      const name = (err as Error)?.name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw mapError(err, 'creating bucket', this.bucket);
    }
  }

  async put(key: string, body: Uint8Array, conditions: PutConditions = {}): Promise<{ etag: string }> {
    try {
      const out = await this.client.send(
        new this.api.PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentLength: body.byteLength,
          IfMatch: conditions.ifMatch,
          IfNoneMatch: conditions.ifAbsent ? '*' : undefined,
        }),
        this.abortable,
      );
      return { etag: unquote(out.ETag) };
    } catch (err) {
      throw mapError(err, 'writing', key);
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.client.send(new this.api.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), this.abortable);
      return { body: Buffer.from(await out.Body!.transformToByteArray()), etag: unquote(out.ETag) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw mapError(err, 'reading', key);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer | null> {
    if (end <= start) return Buffer.alloc(0);
    try {
      const out = await this.client.send(new this.api.GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: `bytes=${start}-${end - 1}` }), this.abortable);
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (isMissing(err)) return null;
      throw mapError(err, 'reading', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new this.api.HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), this.abortable);
      return { key, size: out.ContentLength ?? 0, etag: unquote(out.ETag), lastModified: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isMissing(err)) return null;
      throw mapError(err, 'reading', key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(new this.api.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }), this.abortable);
        for (const o of out.Contents ?? []) {
          found.push({ key: o.Key!.slice(this.prefix.length), size: o.Size ?? 0, etag: unquote(o.ETag), lastModified: o.LastModified?.getTime() ?? 0 });
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw mapError(err, 'listing', prefix);
    }
    return found.sort((a, b) => byCodeUnits(a.key, b.key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        await this.client.send(new this.api.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.prefix + k })), Quiet: true } }), this.abortable);
      } catch (err) {
        throw mapError(err, 'deleting', batch[0]!);
      }
    }
  }

  /** Send options: a request the store leaves unanswered need not hold its caller for the SDK's 60 s. */
  private get abortable(): { abortSignal: AbortSignal } {
    return { abortSignal: this.requests.signal };
  }

  abort(): void {
    this.requests.abort();
    this.requests = new AbortController();
  }

  close(): void {
    this.client.destroy();
  }
}

/** Opens the store behind an s3:// URL. */
export function openObjectStore(url: string, options: S3Options = {}): Promise<S3Store> {
  return S3Store.open(url, options);
}
