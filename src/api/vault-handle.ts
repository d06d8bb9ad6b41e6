import { ConflictError, CorruptionError, NotFoundError, ValidationError } from '../errors.js';
import { Branches, Layers, Traces } from './history-api.js';
import { chunkText, type ChunkOptions } from '../vault/chunker.js';
import { checkChunk, checkEraseIds, checkText, lineageOf, type ChunkInfo, type DocumentInput, type EmbeddedDocumentInput, type EmbeddingSource } from '../vault/document.js';
import { norm, toVector } from '../format/vector.js';
import type { Payload } from '../vault/payload.js';
import { defaultMode } from '../vault/fusion.js';
import { embedQuery } from '../text/query-weights.js';
import { checkSearchOptions, type Hit, type SearchOptions } from '../vault/search.js';
import type { AddDocumentsOptions, EraseWhereOptions, PatchSpec, RecordInput, RecordOutput, RecordsOptions, ScannedRecord, ScanOptions, ScanPage, Vault, VaultInfo } from './vault.js';
import type { Filter } from '../vault/filter.js';
import { checkKnobs, searchWithKnobs } from '../vault/search-knobs.js';
import { checkScanOptions, countRecords, getMany, recordOutput, scanRecords } from '../vault/record-reads.js';
import { eraseWhereOp, insertOp, patchOp, patchWhereOp, RecordView } from '../engine/ops/record-ops.js';
import type { VaultHost } from './vault-host.js';
import type { VaultState } from '../vault/vault-state.js';
import type { Op } from '../format/records.js';
import type { RecordOp } from '../format/record-ops-codec.js';
import { checkId } from '../vault/names.js';
import { mapInSlices } from '../util/loop-turns.js';
import { ADD_DOCUMENTS_OPTIONS, BM25_OPTIONS, CHUNK_OPTIONS, checkOptionTypes, SEARCH_OPTIONS } from '../engine/ops/option-types.js';
import { byCodeUnits } from '../util/code-units.js';

export class VaultHandle implements Vault {
  readonly layers: Layers;
  readonly branches: Branches;
  readonly traces: Traces;

  constructor(
    private readonly host: VaultHost,
    private readonly number: number,
    readonly name: string,
  ) {
    const vault = () => this.state();
    this.layers = new Layers(host, vault);
    this.branches = new Branches(host, vault);
    this.traces = new Traces(host, vault);
  }

  private state(): VaultState {
    const vault = this.host.readable().vaults.get(this.number);
    if (!vault) throw new NotFoundError('vault', `vault "${this.name}" does not exist (it was dropped)`);
    return vault;
  }

  async insert(id: string, vector: Float32Array | readonly number[], payload?: Payload | null): Promise<void> {
    await this.host.mutate(() => {
      this.state();
      return [insertOp(this.host.readable(), this.number, id, vector, payload, this.host.maxPayloadBytes())];
    }, false);
  }

  async insertMany(records: readonly RecordInput[]): Promise<void> {
    if (!Array.isArray(records)) throw new ValidationError('records', 'must be an array');
    // Validated (vectors copied, payloads encoded) inside this write's slot, so the batch keeps
    // its place in the call order, in slices, so a large batch does not hold the event loop.
    await this.host.mutate(() => {
      const state = this.host.readable();
      this.state();
      return mapInSlices(records, (r: RecordInput, i: number) => {
        if (typeof r !== 'object' || r === null) throw new ValidationError(`records[${i}]`, 'must be an object');
        return insertOp(state, this.number, r.id, r.vector, r.payload, this.host.maxPayloadBytes(), `records[${i}].`);
      });
    }, true);
  }

  async addDocument(doc: DocumentInput): Promise<void> {
    await this.writeDocuments(this.checkDocuments([doc], ''));
  }

  /**
   * Embeds the texts with the database's embedder and writes them, with the erasures `erase`
   * names, as one all-or-nothing batch (`quiver add` over many files and their stale chunks).
   */
  async addDocuments(docs: readonly DocumentInput[], options: AddDocumentsOptions = {}): Promise<void> {
    checkOptionTypes(options, ADD_DOCUMENTS_OPTIONS, { closed: true });
    const checked = this.checkDocuments(docs, 'docs');
    const erase = checkEraseIds(options.erase, checked);
    await this.writeDocuments(checked, () => erase);
  }

  /** Validates documents before anything is embedded; `at` prefixes the field a message names ('' for one document). */
  private checkDocuments(docs: readonly DocumentInput[], at: string): { id: string; text: string; chunk: ChunkInfo | null; payload: unknown; at: string }[] {
    if (!Array.isArray(docs)) throw new ValidationError('docs', 'must be an array');
    const max = this.host.maxPayloadBytes();
    return docs.map((d, i) => {
      const prefix = at ? `${at}[${i}].` : '';
      if (typeof d !== 'object' || d === null) throw new ValidationError(`docs[${i}]`, 'must be an object');
      return { id: checkId(d.id, `${prefix}id`), text: checkText(d.text, max, `${prefix}text`), chunk: checkChunk(d.chunk, `${prefix}chunk`), payload: d.payload, at: prefix };
    });
  }

  /**
   * Chunks a document (README "Text: embedders and documents"), embeds the chunks and upserts them as `<docId>#<n>`,
   * erasing chunks a longer earlier version left behind; all in one batch.
   */
  async addText(docId: string, text: string, options: ChunkOptions & { payload?: Payload | null } = {}): Promise<{ chunks: number; removed: number }> {
    checkId(docId, 'docId');
    checkText(text, this.host.maxPayloadBytes(), 'text');
    checkOptionTypes(options, CHUNK_OPTIONS);
    const chunks = chunkText(docId, text, options);
    // Which chunks a longer earlier version left is decided in the write's slot, not now.
    const stale = (): string[] => {
      const out: string[] = [];
      const records = this.state().records;
      for (let n = chunks.length; records.get(`${docId}#${n}`); n++) out.push(`${docId}#${n}`);
      return out;
    };
    const removed = await this.writeDocuments(
      chunks.map((c) => ({ id: checkId(c.id, 'id'), text: c.text, chunk: c.chunk ?? null, payload: options.payload, at: '' })),
      stale,
    );
    return { chunks: chunks.length, removed };
  }

  /**
   * Embeds the texts now (embedding runs alongside earlier writes) and writes them in this call's
   * slot of the write order; if the embedder changed before the slot came (a re-embed called
   * earlier), they are embedded again with the new one. Returns how many records it erased.
   */
  private async writeDocuments(docs: { id: string; text: string; chunk: ChunkInfo | null; payload: unknown; at: string }[], erase: () => string[] = () => []): Promise<number> {
    const first = this.host.embedder();
    const texts = docs.map((d) => d.text);
    const early = first.embed(texts);
    early.catch(() => undefined); // awaited in the slot; never an unhandled rejection meanwhile
    let erased = 0;
    await this.host.mutate(async () => {
      this.state();
      const embedder = this.host.embedder();
      const vectors = embedder === first ? await early : await embedder.embed(texts);
      if (this.host.embedder() !== embedder) {
        throw new ConflictError('CONFLICT', 'the embedder changed while these documents were being embedded; add them again');
      }
      const lineage = lineageOf(embedder.manifest);
      const state = this.host.readable();
      const ops: Op[] = docs.map((d, i) =>
        insertOp(state, this.number, d.id, vectors[i], d.payload, this.host.maxPayloadBytes(), d.at, { text: d.text, chunk: d.chunk, lineage }),
      );
      for (const id of erase()) if (this.state().records.get(id)) ops.push({ type: 'erase', vault: this.number, id });
      erased = ops.length - docs.length;
      return ops;
    }, docs.length > 1);
    return erased;
  }

  /** Documents with vectors computed elsewhere: text, chunk and the outside embedder's lineage, one batch. */
  async insertDocuments(docs: readonly EmbeddedDocumentInput[], source: EmbeddingSource): Promise<void> {
    if (!Array.isArray(docs)) throw new ValidationError('docs', 'must be an array');
    if (typeof source !== 'object' || source === null || typeof source.provider !== 'string' || typeof source.model !== 'string') throw new ValidationError('source', 'must name a provider and a model');
    const lineage = { provider: source.provider, model: source.model, revision: source.revision ?? '', fingerprint: source.fingerprint ?? '', at: new Date().toISOString() };
    const max = this.host.maxPayloadBytes();
    await this.host.mutate(() => {
      this.state();
      const state = this.host.readable();
      return docs.map((d, i) => {
        if (typeof d !== 'object' || d === null) throw new ValidationError(`docs[${i}]`, 'must be an object');
        const doc = { text: checkText(d.text, max, `docs[${i}].text`), chunk: checkChunk(d.chunk, `docs[${i}].chunk`), lineage };
        return insertOp(state, this.number, d.id, d.vector, d.payload, max, `docs[${i}].`, doc);
      });
    }, docs.length > 1);
  }

  async erase(id: string): Promise<boolean> {
    let existed = false;
    await this.host.mutate(() => {
      const checked = checkId(id);
      existed = this.state().records.get(checked) !== undefined;
      return existed ? [{ type: 'erase', vault: this.number, id: checked }] : [];
    }, false);
    return existed;
  }

  eraseWhere(filter: Filter, options?: EraseWhereOptions): Promise<number> {
    return this.writeRecordOp((view) => eraseWhereOp(view, this.state(), filter, options));
  }

  async patch(id: string, spec: PatchSpec): Promise<boolean> {
    return (await this.writeRecordOp((view) => patchOp(view, this.state(), id, spec, this.host.maxPayloadBytes(), this.host.readable().identity.dimension))) === 1;
  }

  patchWhere(filter: Filter, spec: PatchSpec): Promise<number> {
    return this.writeRecordOp((view) => patchWhereOp(view, this.state(), filter, spec, this.host.maxPayloadBytes(), this.host.readable().identity.dimension));
  }

  /** Writes the op `build` makes in its place in the write order (none when it names no record); resolves to how many ids it names. */
  private async writeRecordOp(build: (view: RecordView) => RecordOp | null): Promise<number> {
    let n = 0;
    await this.host.mutate(() => {
      const op = build(new RecordView());
      n = op?.ids.length ?? 0;
      return op ? [op] : [];
    }, false);
    return n;
  }

  getMany(ids: readonly string[]): (RecordOutput | null)[] {
    return getMany(this.state(), ids);
  }

  scan(options?: ScanOptions): ScanPage {
    return scanRecords(this.state(), checkScanOptions(options));
  }

  records(options?: RecordsOptions): AsyncIterableIterator<ScannedRecord> {
    const o = checkScanOptions(options, 'batchSize', 1000);
    // The cursor is the last id returned, so pages stay exact across writes between them.
    const pages = async function* (this: VaultHandle): AsyncGenerator<ScannedRecord> {
      let after: string | null = null;
      for (;;) {
        const page = scanRecords(this.state(), { ...o, after });
        yield* page.records;
        if (page.next === null) return;
        after = page.next;
      }
    };
    return pages.call(this);
  }

  get(id: string): RecordOutput | null {
    const record = this.state().records.get(checkId(id));
    if (!record) return null;
    return recordOutput(record, true);
  }

  has(id: string): boolean {
    return this.state().records.get(checkId(id)) !== undefined;
  }

  count(filter?: Filter): number {
    return countRecords(this.state(), filter);
  }

  ids(): string[] {
    return [...this.state().records.values()].map((r) => r.id).sort(byCodeUnits);
  }

  /**
   * mode 'vector': nearest records to a vector, or to a text embedded with the database's
   * embedder. 'text': BM25 over document text. 'hybrid': both rankings, fused. A text query on
   * a vault with documents defaults to 'hybrid', anything else to 'vector'.
   */
  async search(query: string | Float32Array | readonly number[], options: SearchOptions = {}): Promise<Hit[]> {
    this.state();
    await this.host.beforeSearch();
    if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'must be an object');
    checkOptionTypes(options, SEARCH_OPTIONS);
    checkOptionTypes(options.bm25, BM25_OPTIONS, { at: 'bm25' });
    const checked = checkSearchOptions(options);
    const mode = options.mode ?? defaultMode(typeof query === 'string', this.state().text.documents);
    const knobs = checkKnobs({ ...options, mode }, this.host.readable().identity.metric, checked.k);
    if (typeof query === 'string' && query.trim().length === 0) throw new ValidationError('query', 'must not be empty');
    if (mode !== 'vector' && typeof query !== 'string') throw new ValidationError('query', `mode '${mode}' needs a text query`);
    let vector: Float32Array | undefined;
    if (mode !== 'text') {
      if (typeof query === 'string') vector = await embedQuery(this.host.embedder(), query, this.state().text);
      else {
        vector = toVector(query, this.host.readable().identity.dimension, 'query');
        // As for stored vectors: cosine similarity is undefined for a zero vector.
        if (this.host.readable().identity.metric === 'cosine' && norm(vector) === 0) throw new ValidationError('query', 'is all zeros; cosine similarity is undefined for it');
      }
    }
    const vault = this.state();
    // Held: a reader's refresh during the search's awaits must not unmap what it reads.
    return vault.held(() => searchWithKnobs(vault, this.host.readable().identity.metric, { ...(vector ? { vector } : {}), ...(typeof query === 'string' ? { text: query } : {}) }, { ...options, mode }, checked, knobs)).catch((err: unknown) => {
      if (err instanceof CorruptionError) this.host.damaged(err);
      throw err;
    });
  }

  /** Indexes a payload field (a dotted path) so filters on it find their candidates without a scan. */
  async createIndex(field: string): Promise<void> {
    await this.host.mutate(() => {
      if (typeof field !== 'string' || field.length === 0 || field.startsWith('$')) throw new ValidationError('field', 'must be a payload field name or dotted path');
      return this.state().payloadIndexes.has(field) ? [] : [{ type: 'indexCreate', vault: this.number, field }];
    }, false);
  }

  async dropIndex(field: string): Promise<boolean> {
    let existed = false;
    await this.host.mutate(() => {
      existed = this.state().payloadIndexes.has(field);
      return existed ? [{ type: 'indexDrop', vault: this.number, field }] : [];
    }, false);
    return existed;
  }

  indexes(): { field: string; values: number }[] {
    return [...this.state().payloadIndexes.values()].map((i) => ({ field: i.field, values: i.values.size })).sort((a, b) => byCodeUnits(a.field, b.field));
  }

  info(): VaultInfo {
    return this.state().info();
  }
}
