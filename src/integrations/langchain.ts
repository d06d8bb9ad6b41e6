/**
 * quiverdb/langchain: a LangChain.js VectorStore over a quiverdb vault, and the built-in
 * embedder as LangChain Embeddings. `@langchain/core` is an optional peer dependency that
 * only this entry imports.
 */
import type { Callbacks } from '@langchain/core/callbacks/manager';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { VectorStore, type MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores';
import { NotFoundError, ValidationError } from '../errors.js';
import type { EmbeddingSource } from '../vault/document.js';
import type { Filter } from '../vault/filter.js';
import type { Payload } from '../vault/payload.js';
import type { Hit } from '../vault/search.js';
import type { Vault } from '../api/vault.js';
import { QuiverLocalEmbeddings } from './langchain-embeddings.js';
import { TargetVault, checkIds, contentId, dimensionOf, type StoreTarget } from './store-target.js';

export { QuiverLocalEmbeddings };
export type { StoreTarget as QuiverVectorStoreArgs };

/**
 * pageContent is stored as the record's document text and metadata as its payload, so the
 * same records answer quiverdb's own text and hybrid search; a filter is a quiverdb filter.
 */
export class QuiverVectorStore extends VectorStore {
  declare FilterType: Filter;
  private readonly target: TargetVault;

  constructor(embeddings: EmbeddingsInterface, args: StoreTarget) {
    super(embeddings, args as Record<string, unknown>);
    this.target = new TargetVault(args);
  }

  _vectorstoreType(): string {
    return 'quiverdb';
  }

  /** The vault behind the store (created on the first add). */
  async vault(): Promise<Vault> {
    const vault = await this.target.vault({ create: false });
    if (!vault) throw new NotFoundError('vault', `vault "${this.target.vaultName}" does not exist yet: add documents first`);
    return vault;
  }

  private async source(): Promise<EmbeddingSource> {
    if (this.embeddings instanceof QuiverLocalEmbeddings) return this.embeddings.source();
    return { provider: 'langchain', model: this.embeddings.constructor.name };
  }

  async addVectors(vectors: number[][], documents: DocumentInterface[], options: { ids?: string[] } = {}): Promise<string[]> {
    if (!Array.isArray(vectors) || !Array.isArray(documents) || vectors.length !== documents.length) throw new ValidationError('vectors', 'must be an array with one vector per document');
    const given = checkIds(options?.ids, documents.length);
    if (documents.length === 0) return [];
    const vault = (await this.target.vault({ dimension: dimensionOf(vectors)!, create: true }))!;
    const ids = documents.map((d, i) => given?.[i] ?? d.id ?? contentId(d.pageContent, d.metadata));
    const docs = documents.map((d, i) => ({ id: ids[i]!, text: d.pageContent, vector: vectors[i]!, payload: (d.metadata ?? {}) as Payload }));
    await vault.insertDocuments(docs, await this.source());
    return ids;
  }

  async addDocuments(documents: DocumentInterface[], options: { ids?: string[] } = {}): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  private async hits(query: number[], k: number, options: { filter?: Filter; mmr?: { lambda?: number; fetchK?: number } }): Promise<Hit[]> {
    const vault = await this.target.vault({ dimension: query.length, create: false });
    if (!vault) return [];
    return vault.search(query, { k, ...(options.filter ? { filter: options.filter } : {}), ...(options.mmr ? { mmr: options.mmr } : {}) });
  }

  async similaritySearchVectorWithScore(query: number[], k: number, filter?: Filter): Promise<[DocumentInterface, number][]> {
    const hits = await this.hits(query, k, filter ? { filter } : {});
    return hits.map((h) => [toDocument(h), h.score]);
  }

  /** quiverdb's own MMR over the fetchK nearest, by their stored vectors. */
  override async maxMarginalRelevanceSearch(query: string, options: MaxMarginalRelevanceSearchOptions<Filter>, _callbacks?: Callbacks): Promise<DocumentInterface[]> {
    const vector = await this.embeddings.embedQuery(query);
    const hits = await this.hits(vector, options.k, {
      ...(options.filter ? { filter: options.filter } : {}),
      mmr: { ...(options.lambda !== undefined ? { lambda: options.lambda } : {}), ...(options.fetchK !== undefined ? { fetchK: options.fetchK } : {}) },
    });
    return hits.map(toDocument);
  }

  /** `{ ids }` erases those records; `{ filter }` every record matching a quiverdb filter. */
  override async delete(params: { ids?: string[]; filter?: Filter } = {}): Promise<void> {
    const vault = await this.target.vault({ create: false });
    if (!vault) return;
    if (params.ids !== undefined) {
      if (!Array.isArray(params.ids)) throw new ValidationError('ids', 'must be an array');
      // One batch: every id erased, or none.
      const present = params.ids.filter((id) => vault.has(id));
      if (present.length > 0) await (await this.target.database()).batch(present.map((id) => ({ op: 'erase' as const, vault: vault.name, id })));
    } else if (params.filter !== undefined) {
      await vault.eraseWhere(params.filter);
    } else throw new ValidationError('params', 'give ids or filter');
  }

  /** Closes the database when the store opened it from a path. */
  async close(): Promise<void> {
    await this.target.close();
  }

  static override async fromTexts(texts: string[], metadatas: object[] | object, embeddings: EmbeddingsInterface, args: StoreTarget): Promise<QuiverVectorStore> {
    const docs = texts.map((text, i) => new Document({ pageContent: text, metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) ?? {} }));
    return QuiverVectorStore.fromDocuments(docs, embeddings, args);
  }

  static override async fromDocuments(docs: DocumentInterface[], embeddings: EmbeddingsInterface, args: StoreTarget & { ids?: string[] }): Promise<QuiverVectorStore> {
    const store = new QuiverVectorStore(embeddings, args);
    await store.addDocuments(docs, args.ids ? { ids: args.ids } : {});
    return store;
  }

  /** A store over a vault that already holds documents (NotFoundError when it does not exist). */
  static async fromExistingVault(embeddings: EmbeddingsInterface, args: StoreTarget): Promise<QuiverVectorStore> {
    const store = new QuiverVectorStore(embeddings, args);
    await store.vault();
    return store;
  }
}

function toDocument(h: Hit): DocumentInterface {
  return new Document({ pageContent: h.document?.text ?? '', metadata: (h.payload ?? {}) as Record<string, unknown>, id: h.id });
}
