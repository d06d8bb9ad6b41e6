/**
 * quiverdb/llamaindex: a LlamaIndex.TS vector store over a quiverdb vault. `@llamaindex/core`
 * (which `llamaindex` brings) is an optional peer dependency that only this entry imports.
 */
import type { BaseEmbedding } from '@llamaindex/core/embeddings';
import { Settings } from '@llamaindex/core/global';
import { MetadataMode, type BaseNode } from '@llamaindex/core/schema';
import { BaseVectorStore, VectorStoreQueryMode, metadataDictToNode, nodeToMetadata, type VectorStoreQuery, type VectorStoreQueryResult } from '@llamaindex/core/vector-store';
import type { Database } from '../engine/database.js';
import { ValidationError } from '../errors.js';
import type { Filter } from '../vault/filter.js';
import type { Payload } from '../vault/payload.js';
import type { Hit, SearchOptions } from '../vault/search.js';
import { translateMetadataFilters } from './llamaindex-filters.js';
import { TargetVault, type StoreTarget } from './store-target.js';

export { translateMetadataFilters };

export interface QuiverVectorStoreOptions extends StoreTarget {
  embedModel?: BaseEmbedding;
}

/**
 * Each node is one record: its text is the record's document text, its embedding the vector,
 * and its metadata the payload, with LlamaIndex's own bookkeeping keys (`_node_content`,
 * `_node_type`, `ref_doc_id`, ...) beside it, so filters name metadata keys directly and
 * `delete(refDocId)` finds every chunk of a document.
 */
export class QuiverVectorStore extends BaseVectorStore<Database | null> {
  storesText = true;
  private readonly target: TargetVault;
  private db: Database | null;

  constructor(options: QuiverVectorStoreOptions) {
    // BaseVectorStore reads Settings.embedModel at construction, which throws when none is set;
    // without an embedModel of its own the store reads the setting when it is used instead.
    super({ embedModel: options?.embedModel ?? ({} as BaseEmbedding) });
    if (!options?.embedModel) {
      Object.defineProperty(this, 'embedModel', { get: () => Settings.embedModel, set: (m: BaseEmbedding) => Object.defineProperty(this, 'embedModel', { value: m, writable: true }), configurable: true });
    }
    this.target = new TargetVault(options);
    this.db = options.db ?? null;
  }

  /** The database (null until a store opened from a path has been used). */
  client(): Database | null {
    return this.db;
  }

  async add(nodes: BaseNode[]): Promise<string[]> {
    if (!Array.isArray(nodes)) throw new ValidationError('nodes', 'must be an array');
    if (nodes.length === 0) return [];
    const docs = nodes.map((node, i) => {
      const vector = node.getEmbedding();
      if (!Array.isArray(vector) || vector.length === 0) throw new ValidationError(`nodes[${i}]`, 'has no embedding (run it through an embed model first)');
      return { id: node.id_, text: node.getContent(MetadataMode.NONE), vector, payload: nodeToMetadata(node, true, 'text', false) as Payload };
    });
    const vault = (await this.target.vault({ dimension: docs[0]!.vector.length, create: true }))!;
    this.db = await this.target.database();
    await vault.insertDocuments(docs, { provider: 'llamaindex', model: this.embedModel?.constructor.name ?? 'unknown' });
    return docs.map((d) => d.id);
  }

  /** Erases every chunk (node) of the document `refDocId`, as one write. */
  async delete(refDocId: string): Promise<void> {
    if (typeof refDocId !== 'string' || refDocId.length === 0) throw new ValidationError('refDocId', 'must be a non-empty string');
    const vault = await this.target.vault({ create: false });
    if (vault) await vault.eraseWhere({ ref_doc_id: refDocId });
  }

  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    const vector = query.queryEmbedding;
    const vault = await this.target.vault({ ...(vector?.length ? { dimension: vector.length } : {}), create: false });
    this.db = await this.target.database();
    if (!vault) return { nodes: [], similarities: [], ids: [] };
    const parts: Filter[] = [];
    const metadata = translateMetadataFilters(query.filters);
    if (metadata) parts.push(metadata);
    if (query.docIds?.length) parts.push({ ref_doc_id: { $in: query.docIds } });
    const filter: Filter | undefined = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { $and: parts };
    const options: SearchOptions = { k: query.similarityTopK, ...(filter ? { filter } : {}) };
    let hits: Hit[];
    switch (query.mode ?? VectorStoreQueryMode.DEFAULT) {
      case VectorStoreQueryMode.DEFAULT:
      case VectorStoreQueryMode.MMR: {
        if (!vector?.length) throw new ValidationError('queryEmbedding', 'is required for this mode');
        const mmr = query.mode === VectorStoreQueryMode.MMR ? { mmr: { lambda: query.mmrThreshold ?? 0.5 } } : {};
        hits = await vault.search(vector, { ...options, ...mmr });
        break;
      }
      case VectorStoreQueryMode.SPARSE:
      case VectorStoreQueryMode.HYBRID:
        // BM25 over the stored text; hybrid also embeds the text with the database's own embedder.
        if (!query.queryStr) throw new ValidationError('queryStr', 'is required for this mode');
        hits = await vault.search(query.queryStr, { ...options, mode: query.mode === VectorStoreQueryMode.SPARSE ? 'text' : 'hybrid' });
        break;
      default:
        throw new ValidationError('mode', `${query.mode} is not supported by quiverdb (default, mmr, sparse, hybrid)`);
    }
    return { nodes: hits.map(toNode), similarities: hits.map((h) => h.score), ids: hits.map((h) => h.id) };
  }

  /** Closes the database when the store opened it from a path. */
  async close(): Promise<void> {
    await this.target.close();
  }
}

function toNode(h: Hit): BaseNode {
  const text = h.document?.text ?? '';
  const node = metadataDictToNode((h.payload ?? {}) as Record<string, unknown>, { fallback: { id_: h.id, text, metadata: {} } });
  node.setContent(text);
  return node;
}
