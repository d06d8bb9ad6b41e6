import { ConfigError } from '../../errors.js';
import { checkOptionTypes, OPEN_OPTIONS } from '../ops/option-types.js';
import { METRICS, QUANTIZATIONS, STORAGE_MODES, quantizationOf, type Identity, type IndexConfig, type Metric, type Quantization, type StorageMode } from '../../format/identity.js';
import type { FileSystem } from '../../fs/file-system.js';
import type { EmbedderOption } from '../../embedder/resolve.js';
import { DURABILITY_MODES, type Durability } from '../../wal/wal-writer.js';
import type { RecoveryPolicy } from './replay.js';
import { VERIFY_MODES, type VerifyMode } from './vector-check.js';

export interface OpenOptions {
  /** Vector dimension. Required to create a database without an embedder; checked against IDENTITY on reopen. */
  dimension?: number;
  /**
   * The text embedder: 'local' (built in), { transformers: '<model folder>' }, or an Embedder.
   * Recorded at creation; a different one on reopen raises EmbedderDriftError; omitted, the
   * recorded one is recreated.
   */
  embedder?: EmbedderOption;
  metric?: Metric;
  /** 'hnsw' (default, M 16, efConstruction 200), 'flat', or an object with the HNSW parameters. */
  index?: 'hnsw' | 'flat' | { type: 'hnsw'; M?: number; efConstruction?: number; quantization?: Quantization } | { type: 'flat' };
  /** 'segmented' (default) or 'snapshot' (the whole state in one file). Fixed at creation. */
  storage?: StorageMode;
  durability?: Durability;
  /** 'strict' (default) refuses a log with corruption in the middle; 'salvage' keeps the valid prefix and moves the rest aside. */
  recovery?: RecoveryPolicy;
  /** Checkpoint automatically once wal.log passes this many bytes (default 64 MiB; 0 never). */
  autoCheckpointBytes?: number;
  /** Largest encoded payload accepted (default 1 MiB). */
  maxPayloadBytes?: number;
  /** How long to wait for another writer's lock before LockedError (default 0). */
  lockTimeoutMs?: number;
  /** A writer lock not refreshed for this long is stale and taken over (default 10 s, at least 2 s). */
  lockStaleMs?: number;
  /** Create the database when the directory has none (default true; never when readOnly). */
  create?: boolean;
  /**
   * Open an existing database without taking the writer lock or attaching a log writer.
   * Nothing on disk changes; every mutation raises StorageError READ_ONLY.
   */
  readOnly?: boolean;
  /** Read-only handles: refresh to the latest committed state this often (default 0: only on refresh()). */
  refreshIntervalMs?: number;
  /**
   * When stored vectors are checked against their checksums (README "Verification"). 'full'
   * (default): the first search waits for the check. 'lazy': searches may answer from the graph
   * before the vectors are checked (a faster first search); damage found later still fails the
   * database.
   */
  verify?: VerifyMode;
  /** The filesystem seam. For tests; production uses node:fs. */
  fs?: FileSystem;
}

export interface ResolvedOptions {
  durability: Durability;
  recovery: RecoveryPolicy;
  autoCheckpointBytes: number;
  maxPayloadBytes: number;
  lockTimeoutMs: number;
  lockStaleMs: number;
  create: boolean;
  readOnly: boolean;
  refreshIntervalMs: number;
  verify: VerifyMode;
}

const KNOWN = new Set(['dimension', 'embedder', 'metric', 'index', 'storage', 'durability', 'recovery', 'autoCheckpointBytes', 'maxPayloadBytes', 'lockTimeoutMs', 'lockStaleMs', 'create', 'readOnly', 'refreshIntervalMs', 'verify', 'fs']);

function invalid(field: string, message: string): never {
  throw new ConfigError('CONFIG_INVALID', field, `${field}: ${message}`);
}

function nonNegativeInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 0) invalid(field, 'must be a non-negative integer');
  return value as number;
}

export function resolveOptions(options: OpenOptions): ResolvedOptions {
  checkOptionTypes(options, OPEN_OPTIONS, { config: true });
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) invalid(key, 'unknown option');
  const durability = options.durability ?? 'standard';
  if (!DURABILITY_MODES.includes(durability)) invalid('durability', `must be one of ${DURABILITY_MODES.join(', ')}`);
  const recovery = options.recovery ?? 'strict';
  if (recovery !== 'strict' && recovery !== 'salvage') invalid('recovery', "must be 'strict' or 'salvage'");
  const verify = options.verify ?? 'full';
  if (!VERIFY_MODES.includes(verify)) invalid('verify', "must be 'full' or 'lazy'");
  return {
    durability,
    recovery,
    autoCheckpointBytes: nonNegativeInt(options.autoCheckpointBytes, 'autoCheckpointBytes', 64 * 1024 * 1024),
    maxPayloadBytes: nonNegativeInt(options.maxPayloadBytes, 'maxPayloadBytes', 1024 * 1024),
    lockTimeoutMs: nonNegativeInt(options.lockTimeoutMs, 'lockTimeoutMs', 0),
    lockStaleMs: Math.max(2000, nonNegativeInt(options.lockStaleMs, 'lockStaleMs', 10_000)),
    create: options.readOnly ? false : options.create ?? true,
    readOnly: options.readOnly ?? false,
    refreshIntervalMs: nonNegativeInt(options.refreshIntervalMs, 'refreshIntervalMs', 0),
    verify,
  };
}

function requestedIndex(options: OpenOptions): { type?: 'hnsw' | 'flat'; M?: number; efConstruction?: number; quantization?: unknown } | undefined {
  const index = options.index;
  if (index === undefined) return undefined;
  if (index === 'hnsw' || index === 'flat') return { type: index };
  if (typeof index === 'object' && index !== null && (index.type === 'hnsw' || index.type === 'flat')) return index;
  return invalid('index', "must be 'hnsw', 'flat' or { type, M, efConstruction }");
}

/** The identity a new database gets from `options`. */
export function identityFields(options: OpenOptions): Omit<Identity, 'formatVersion' | 'createdAt'> {
  const dimension = options.dimension;
  if (dimension === undefined) invalid('dimension', 'is required to create a database');
  if (!Number.isSafeInteger(dimension) || dimension < 1 || dimension > 65_536) invalid('dimension', 'must be an integer from 1 to 65536');
  const metric = options.metric ?? 'cosine';
  if (!METRICS.includes(metric)) invalid('metric', `must be one of ${METRICS.join(', ')}`);
  const storage = options.storage ?? 'segmented';
  if (!STORAGE_MODES.includes(storage)) invalid('storage', `must be one of ${STORAGE_MODES.join(', ')}`);
  if (requestedQuantization(options) === 'int8' && storage === 'snapshot') invalid('index.quantization', "needs storage 'segmented' (a snapshot database keeps no graph files to code)");
  const req = requestedIndex(options) ?? { type: 'hnsw' };
  let index: IndexConfig;
  if (req.type === 'flat') {
    index = { type: 'flat' };
  } else {
    const hnsw = req as { M?: number; efConstruction?: number; quantization?: unknown };
    const M = hnsw.M ?? 16;
    const efConstruction = hnsw.efConstruction ?? 200;
    if (!Number.isSafeInteger(M) || M < 2 || M > 256) invalid('index.M', 'must be an integer from 2 to 256');
    if (!Number.isSafeInteger(efConstruction) || efConstruction < 1 || efConstruction > 10_000) invalid('index.efConstruction', 'must be an integer from 1 to 10000');
    index = { type: 'hnsw', M, efConstruction, ...(requestedQuantization(options) === 'int8' ? { quantization: 'int8' as const } : {}) };
  }
  return { dimension, metric, index, storage };
}

/** The quantization `options` ask for, checked; undefined when they do not say. */
export function requestedQuantization(options: OpenOptions): Quantization | undefined {
  const req = requestedIndex(options) as { type?: string; quantization?: unknown } | undefined;
  const q = req?.quantization;
  if (q === undefined) return undefined;
  if (req?.type !== 'hnsw') invalid('index.quantization', "applies to an 'hnsw' index only");
  if (!QUANTIZATIONS.includes(q as Quantization)) invalid('index.quantization', `must be one of ${QUANTIZATIONS.join(', ')}`);
  return q as Quantization;
}

/**
 * Raises ConfigError when `options` contradict the stored identity. Absent options agree.
 * `index.quantization` is the one setting a writer may change on an existing database
 * (open-database.ts rewrites IDENTITY); a read-only open that asks for another one is refused.
 */
export function checkAgainstIdentity(options: OpenOptions, identity: Identity, writable = true): void {
  const mismatch = (field: string, stored: unknown, given: unknown): never => {
    throw new ConfigError('CONFIG_MISMATCH', field, `${field}: the database has ${JSON.stringify(stored)}, the options ask for ${JSON.stringify(given)}`);
  };
  if (requestedQuantization(options) === 'int8' && identity.storage === 'snapshot') invalid('index.quantization', "needs storage 'segmented' (a snapshot database keeps no graph files to code)");
  if (options.dimension !== undefined && options.dimension !== identity.dimension) mismatch('dimension', identity.dimension, options.dimension);
  if (options.metric !== undefined && options.metric !== identity.metric) mismatch('metric', identity.metric, options.metric);
  if (options.storage !== undefined && options.storage !== identity.storage) mismatch('storage', identity.storage, options.storage);
  const req = requestedIndex(options);
  if (req) {
    if (req.type !== identity.index.type) mismatch('index', identity.index.type, req.type);
    if (req.type === 'hnsw' && identity.index.type === 'hnsw') {
      const r = req as { M?: number; efConstruction?: number };
      if (r.M !== undefined && r.M !== identity.index.M) mismatch('index.M', identity.index.M, r.M);
      if (r.efConstruction !== undefined && r.efConstruction !== identity.index.efConstruction) mismatch('index.efConstruction', identity.index.efConstruction, r.efConstruction);
      const q = requestedQuantization(options);
      if (!writable && q !== undefined && q !== quantizationOf(identity)) mismatch('index.quantization', quantizationOf(identity), q);
    }
  }
}
