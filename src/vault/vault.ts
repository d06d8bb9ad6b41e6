import type { ChunkOptions } from '../embedder/chunker.js';
import type { Branches, Layers, Traces } from '../engine/history-api.js';
import type { DocumentInfo, DocumentInput, EmbeddedDocumentInput, EmbeddingSource } from './document.js';
import type { Payload } from './payload.js';
import type { Filter } from './filter.js';
import type { Hit, SearchOptions } from './search.js';
import type { Quota } from './vault-state.js';

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

/**
 * A handle on one vault. Writes are asynchronous and resolve under the database's durability
 * mode; reads see every write that has been applied, acknowledged or not yet.
 * The engine implements it; the handle stays valid until its vault is dropped.
 */
export interface Vault {
  readonly name: string;
  /** Versioned resources: immutable layers on branches (README "Layers, branches, traces"). */
  readonly layers: Layers;
  readonly branches: Branches;
  /** Completed execution traces, in time order, with retention. */
  readonly traces: Traces;
  /** Inserts or replaces the record `id`. */
  insert(id: string, vector: Float32Array | readonly number[], payload?: Payload | null): Promise<void>;
  /** Inserts or replaces several records as one all-or-nothing operation. */
  insertMany(records: readonly RecordInput[]): Promise<void>;
  /** Embeds `text` with the database's embedder and upserts it as a document record (insert_ex). */
  addDocument(doc: DocumentInput): Promise<void>;
  /** Several documents, embedded, then written as one all-or-nothing batch. */
  addDocuments(docs: readonly DocumentInput[]): Promise<void>;
  /** Chunks a long text into `<docId>#<n>` documents, erasing stale chunks of an earlier version. */
  addText(docId: string, text: string, options?: ChunkOptions & { payload?: Payload | null }): Promise<{ chunks: number; removed: number }>;
  /** Upserts documents whose vectors an outside embedder computed; `source` names it in each record's lineage. */
  insertDocuments(docs: readonly EmbeddedDocumentInput[], source: EmbeddingSource): Promise<void>;
  /** Erases `id`; resolves false (and writes nothing) when there was no such record. */
  erase(id: string): Promise<boolean>;
  /**
   * Erases every record matching `filter` when the operation is applied, as one log record;
   * resolves to how many. `{}` is refused (ValidationError) unless `{ all: true }`.
   */
  eraseWhere(filter: Filter, options?: EraseWhereOptions): Promise<number>;
  /**
   * Changes only the payload of `id` (vector and document kept, nothing re-embedded); resolves
   * false (and writes nothing) when there is no such record.
   */
  patch(id: string, spec: PatchSpec): Promise<boolean>;
  /** patch() of every record matching `filter`, as one log record; resolves to how many. */
  patchWhere(filter: Filter, spec: PatchSpec): Promise<number>;
  get(id: string): RecordOutput | null;
  /** get() of each id, in the order given (null where there is no such record). */
  getMany(ids: readonly string[]): (RecordOutput | null)[];
  has(id: string): boolean;
  /** How many records, or how many match `filter` (payload indexes answer it where they can). */
  count(filter?: Filter): number;
  /** Every record id, in code-unit order. */
  ids(): string[];
  /**
   * One page of records in code-unit order of id. The cursor is the last id returned: paging
   * from null to the end while writes go on returns every record that existed throughout once.
   */
  scan(options?: ScanOptions): ScanPage;
  /** Every (matching) record, page by page (scan), as an async iterator. */
  records(options?: RecordsOptions): AsyncIterableIterator<ScannedRecord>;
  /** A vector, or a text the database's embedder embeds. */
  search(query: string | Float32Array | readonly number[], options?: SearchOptions): Promise<Hit[]>;
  /** Indexes a payload field (a dotted path): filters on it find their candidates without scanning payloads. */
  createIndex(field: string): Promise<void>;
  dropIndex(field: string): Promise<boolean>;
  /** Payload indexes with their count of distinct values. */
  indexes(): { field: string; values: number }[];
  info(): VaultInfo;
}
