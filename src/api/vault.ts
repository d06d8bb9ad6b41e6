import type { ChunkOptions } from '../vault/chunker.js';
import type { Branches, Layers, Traces } from './history-api.js';
import type { DocumentInput, EmbeddedDocumentInput, EmbeddingSource } from '../vault/document.js';
import type { Payload } from '../vault/payload.js';
import type { Filter } from '../vault/filter.js';
import type { Hit, SearchOptions } from '../vault/search.js';
import type { EraseWhereOptions, PatchSpec, RecordInput, RecordOutput, RecordsOptions, ScannedRecord, ScanOptions, ScanPage, VaultInfo } from '../vault/record-types.js';

export type { EraseWhereOptions, PatchSpec, RecordInput, RecordOutput, RecordsOptions, ScannedRecord, ScanOptions, ScanPage, VaultInfo };

/** addDocuments(docs, options). */
export interface AddDocumentsOptions {
  /**
   * Record ids to erase in the same all-or-nothing batch (those that exist when it is applied;
   * absent ones are no change), e.g. the stale chunks of a re-added, shorter document.
   */
  erase?: readonly string[];
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
  /**
   * Several documents, embedded, then written as one all-or-nothing batch, together with the
   * erasures `options.erase` names: a bad document or id (ValidationError) writes nothing.
   */
  addDocuments(docs: readonly DocumentInput[], options?: AddDocumentsOptions): Promise<void>;
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
