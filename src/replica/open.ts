import * as path from 'node:path';
import { ConfigError } from '../errors.js';
import type { Database } from '../engine/database.js';
import { open as openLocal } from '../engine/open-database.js';
import type { OpenOptions as LocalOpenOptions } from '../engine/open/options.js';
import { nodeFileSystem } from '../fs/file-system.js';
import { openObjectStore, type S3Credentials, type S3Options } from '../object-store/s3-store.js';
import { isObjectStoreUrl } from '../object-store/url.js';
import { Follower } from './follower.js';
import { ShipperThread, shipWorkerEntry } from './ship-thread.js';
import type { ShipperOptions } from './ship-types.js';
import { Shipper } from './shipper.js';

/** What a writer holds of its shipper, on a thread of its own or in-process. */
type WriterShipper = Pick<Shipper, 'onLost' | 'captureLogTail' | 'status' | 'stop'>;

/** Where and how a writer ships (README "Beyond one machine: object storage"). */
export interface ReplicateOptions extends S3Options {
  /** s3://bucket/prefix */
  url: string;
  /** Cut a log chunk at least this often (default 1000 ms; also `replicateIntervalMs`). */
  intervalMs?: number;
  /** Lease length (default 30 s). Another writer may take over only after it expires. */
  leaseMs?: number;
  /** Take over an expired lease (explicit: the old writer may only be cut off from the store). */
  takeover?: boolean;
  /** How long an unneeded object stays before deletion (default 60 s): a replica's window to fetch what a root named. */
  graceMs?: number;
  /** How far back point-in-time restore reaches (default 24 h). */
  retainMs?: number;
}

export interface OpenOptions extends LocalOpenOptions {
  /** Ship this database to object storage while it is open (writers). */
  replicate?: ReplicateOptions;
  replicateIntervalMs?: number;
  /** s3:// replicas: the local directory the replica's files are cached in (required). */
  cacheDir?: string;
  /** s3:// replicas: how to reach the bucket (endpoint, credentials, ...). */
  s3?: S3Options;
}

const positive = (value: unknown, field: string, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new ConfigError('CONFIG_INVALID', field, `${field}: must be a positive integer`);
  return value as number;
};

export function shipperOptions(r: ReplicateOptions, intervalMs?: number): ShipperOptions {
  return {
    intervalMs: positive(r.intervalMs ?? intervalMs, 'replicate.intervalMs', 1000),
    leaseMs: positive(r.leaseMs, 'replicate.leaseMs', 30_000),
    takeover: r.takeover === true,
    graceMs: positive(r.graceMs, 'replicate.graceMs', 60_000),
    retainMs: positive(r.retainMs, 'replicate.retainMs', 24 * 3600_000),
  };
}

const s3Of = (r: S3Options): S3Options => ({ endpoint: r.endpoint, region: r.region, forcePathStyle: r.forcePathStyle, credentials: r.credentials });

/**
 * Whether the shipping thread can be given these credentials: keys are copied to it as strings;
 * a credential provider (a function) cannot cross to a thread, so that writer ships in-process.
 * Anything else is refused before the database opens.
 */
function credentialsCloneable(credentials: unknown): boolean {
  if (credentials === undefined) return true;
  if (typeof credentials === 'function') return false;
  const c = credentials as Record<string, unknown> | null;
  const str = (v: unknown): boolean => typeof v === 'string';
  if (c === null || typeof c !== 'object' || !str(c.accessKeyId) || !str(c.secretAccessKey) || !(c.sessionToken === undefined || str(c.sessionToken))) {
    throw new ConfigError('CONFIG_INVALID', 'replicate.credentials', 'replicate.credentials: must be { accessKeyId, secretAccessKey, sessionToken? } as strings, or a credential provider function');
  }
  return true;
}

/** The keys alone, as plain strings, for the thread's structured clone. */
function threadS3(r: S3Options): S3Options {
  const c = r.credentials as S3Credentials | undefined;
  return { ...s3Of(r), credentials: c && { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }) } };
}

/**
 * open() with object storage: `s3://bucket/prefix` opens a read-only replica through a local
 * cache; a local path with `replicate` opens the writer and ships it. Anything else is the local open.
 */
export async function open(dir?: string, options: OpenOptions = {}): Promise<Database> {
  // Not an object (null, a string): the local open refuses it with ConfigError naming 'options'.
  if (options === null || typeof options !== 'object') return openLocal(dir, options);
  const { replicate, replicateIntervalMs, cacheDir, s3, ...local } = options;
  if (isObjectStoreUrl(dir)) return openReplica(dir, options);
  if (cacheDir !== undefined || s3 !== undefined) throw new ConfigError('CONFIG_INVALID', cacheDir !== undefined ? 'cacheDir' : 's3', 'cacheDir and s3 are for s3:// replicas');
  if (!replicate) {
    if (replicateIntervalMs !== undefined) throw new ConfigError('CONFIG_INVALID', 'replicateIntervalMs', 'replicateIntervalMs: needs replicate');
    return openLocal(dir, local);
  }
  if (typeof replicate !== 'object' || !isObjectStoreUrl(replicate.url)) throw new ConfigError('CONFIG_INVALID', 'replicate.url', 'replicate.url: must be s3://bucket/prefix');
  if (dir === undefined || local.readOnly) throw new ConfigError('CONFIG_INVALID', 'replicate', 'replicate: only a writer on a directory ships');
  const shipOptions = shipperOptions(replicate, replicateIntervalMs);
  const onThread = credentialsCloneable(replicate.credentials);
  const db = await openLocal(dir, local);
  if (db.identity.storage !== 'segmented') {
    await db.close();
    throw new ConfigError('CONFIG_INVALID', 'replicate', "replicate: only 'segmented' storage ships to object storage");
  }
  let shipper: WriterShipper;
  try {
    shipper = await startShipper(path.resolve(dir), replicate, shipOptions, db.stats().lastLsn, onThread);
  } catch (err) {
    await db.close();
    throw err;
  }
  // A writer whose lease was taken over must not go on as if it were the database's writer.
  shipper.onLost = (err) => void db.fail(err);
  db.attach({ beforeLogReset: () => shipper.captureLogTail(), status: (lsn) => shipper.status(lsn), close: () => shipper.stop() });
  return db;
}

/**
 * On a thread of its own (ship-thread.ts), since the writer's thread is the one inserting into
 * the graph; in-process where the thread's entry file cannot be found, or the credentials are a
 * provider function (which cannot be sent to a thread).
 */
async function startShipper(dir: string, replicate: ReplicateOptions, options: ShipperOptions, localLsn: number, onThread: boolean): Promise<WriterShipper> {
  const entry = onThread ? shipWorkerEntry() : null;
  if (entry) return ShipperThread.start(entry, dir, replicate.url, threadS3(replicate), options, localLsn);
  const store = await openObjectStore(replicate.url, s3Of(replicate));
  return Shipper.start(nodeFileSystem, dir, store, { ...options, localLsn: () => localLsn }).catch((err: unknown) => {
    store.close();
    throw err;
  });
}

async function openReplica(url: string, options: OpenOptions): Promise<Database> {
  const { cacheDir, s3, replicate, replicateIntervalMs, ...local } = options;
  if (!local.readOnly) throw new ConfigError('CONFIG_INVALID', 'readOnly', 'readOnly: an s3:// database opens read-only (a replica); its writer opens a directory with replicate');
  if (typeof cacheDir !== 'string' || cacheDir.length === 0) throw new ConfigError('CONFIG_INVALID', 'cacheDir', 'cacheDir: an s3:// replica needs a local cache directory');
  if (replicate || replicateIntervalMs !== undefined) throw new ConfigError('CONFIG_INVALID', 'replicate', 'replicate: a replica does not ship');
  const store = await openObjectStore(url, s3 ?? {});
  let follower: Follower;
  try {
    follower = await Follower.prepare(store, path.resolve(cacheDir));
  } catch (err) {
    store.close();
    throw err;
  }
  const db = await openLocal(cacheDir, local).catch((err: unknown) => {
    store.close();
    throw err;
  });
  db.attach({ beforeRefresh: () => follower.sync(), status: () => follower.status(), close: async () => store.close() });
  return db;
}
