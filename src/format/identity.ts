import { CorruptionError } from '../errors.js';
import { FORMAT_VERSION, FileName, SectionKind } from './constants.js';
import { decodeSectioned, encodeSectioned, requireSection } from './sectioned-file.js';
import { jsonObject } from './decode-guard.js';

/** FORMAT.md "IDENTITY". The durable source of truth for what a database is. */

export type Metric = 'cosine' | 'l2' | 'ip';
export const METRICS: readonly Metric[] = ['cosine', 'l2', 'ip'];

/** `quantization: 'int8'`: checkpoints write each graph's int8 codes too, which mapped readers search (FORMAT.md "Graph codes"). */
export type IndexConfig = { type: 'hnsw'; M: number; efConstruction: number; quantization?: 'int8' } | { type: 'flat' };
export type Quantization = 'none' | 'int8';
export const QUANTIZATIONS: readonly Quantization[] = ['none', 'int8'];

/** The identity's quantization ('none' when the field is absent). */
export function quantizationOf(identity: Identity): Quantization {
  return identity.index.type === 'hnsw' && identity.index.quantization === 'int8' ? 'int8' : 'none';
}

export type StorageMode = 'segmented' | 'snapshot';
export const STORAGE_MODES: readonly StorageMode[] = ['segmented', 'snapshot'];

export interface Identity {
  formatVersion: number;
  dimension: number;
  metric: Metric;
  index: IndexConfig;
  storage: StorageMode;
  createdAt: string;
}

export function encodeIdentity(identity: Identity): Uint8Array[] {
  const body = Buffer.from(JSON.stringify(identity, null, 2) + '\n', 'utf8');
  return encodeSectioned('identity', identity.formatVersion, [{ kind: SectionKind.json, payload: body }]);
}

/** Decodes an IDENTITY whose header version this build reads (the caller checks it first). */
export function decodeIdentity(bytes: Uint8Array): Identity {
  const file = decodeSectioned(bytes, 'identity', FileName.identity);
  const id = jsonObject(requireSection(file, SectionKind.json, FileName.identity, 'JSON'), FileName.identity) as Partial<Identity>;
  const bad = (what: string): never => {
    throw new CorruptionError(FileName.identity, `invalid ${what}`);
  };
  if (id.formatVersion !== file.version) bad('formatVersion (differs from the header)');
  if (!Number.isInteger(id.dimension) || (id.dimension as number) < 1) bad('dimension');
  if (!METRICS.includes(id.metric as Metric)) bad('metric');
  if (!STORAGE_MODES.includes(id.storage as StorageMode)) bad('storage');
  const index = id.index as IndexConfig | undefined | null;
  if (typeof index !== 'object' || index === null) return bad('index');
  if (index.type === 'hnsw') {
    if (!Number.isInteger(index.M) || !Number.isInteger(index.efConstruction)) bad('index parameters');
    if (index.quantization !== undefined && index.quantization !== 'int8') bad('index.quantization');
  } else if (index.type !== 'flat') {
    bad('index');
  }
  if (typeof id.createdAt !== 'string') bad('createdAt');
  return id as Identity;
}

export function newIdentity(fields: Omit<Identity, 'formatVersion' | 'createdAt'>): Identity {
  return { formatVersion: FORMAT_VERSION, ...fields, createdAt: new Date().toISOString() };
}
