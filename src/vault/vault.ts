import type { ChunkOptions } from '../embedder/chunker.js';
import type { Branches, Layers, Traces } from '../engine/history-api.js';
import type { DocumentInfo, DocumentInput } from './document.js';
import type { Payload } from './payload.js';
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
  /** Erases `id`; resolves false (and writes nothing) when there was no such record. */
  erase(id: string): Promise<boolean>;
  get(id: string): RecordOutput | null;
  has(id: string): boolean;
  count(): number;
  /** Every record id, in code-unit order. */
  ids(): string[];
  /** A vector, or a text the database's embedder embeds. */
  search(query: string | Float32Array | readonly number[], options?: SearchOptions): Promise<Hit[]>;
  /** Indexes a payload field (a dotted path): filters on it find their candidates without scanning payloads. */
  createIndex(field: string): Promise<void>;
  dropIndex(field: string): Promise<boolean>;
  /** Payload indexes with their count of distinct values. */
  indexes(): { field: string; values: number }[];
  info(): VaultInfo;
}
