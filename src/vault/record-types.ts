import type { DocumentInfo } from './document.js';
import type { Filter } from './filter.js';
import type { Payload } from './payload.js';
import type { Quota } from '../format/quota.js';

/** The shapes of records and vaults as the public API takes and returns them (api/vault.ts). */
export interface RecordInput {
  id: string;
  vector: Float32Array | readonly number[];
  payload?: Payload | null;
}

export interface RecordOutput {
  id: string;
  vector: Float32Array;
  payload: Payload | null;
  /** LSN of the operation that wrote this version. */
  lsn: number;
  /** Text, chunk and embedding lineage of records written as documents. */
  document: DocumentInfo | null;
}

/** A record as scan() and records() return it: the vector only with `withVectors: true`. */
export type ScannedRecord = Omit<RecordOutput, 'vector'> & { vector?: Float32Array };

export interface ScanOptions {
  /** Only records matching this filter (README "Filters"). */
  filter?: Filter;
  /** Records per page (default 100, at most 10,000). */
  limit?: number;
  /** The cursor: a previous page's `next` (records with a greater id follow). */
  after?: string | null;
  /** Include each record's vector (default false). */
  withVectors?: boolean;
}

export interface ScanPage {
  /** In code-unit order of id. */
  records: ScannedRecord[];
  /** The cursor for the following page, or null when this page is the last. */
  next: string | null;
}

export interface RecordsOptions {
  filter?: Filter;
  /** Records read per page (default 1,000, at most 10,000). */
  batchSize?: number;
  withVectors?: boolean;
}

/** A payload change (README "The everyday API: many at once, by filter, page by page"): `set` by dotted path, then `unset` paths. */
export interface PatchSpec {
  set?: Payload;
  unset?: readonly string[];
}

export interface EraseWhereOptions {
  /** Required to erase with an empty filter `{}`: every record of the vault. */
  all?: boolean;
}

export interface VaultInfo {
  name: string;
  number: number;
  records: number;
  bytes: number;
  quota: Quota;
}
