import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { LocalEmbedder } from '../embedder/local-embedder.js';
import type { EmbeddingSource } from '../vault/document.js';

/**
 * quiverdb's built-in offline embedder (`local`) for LangChain pipelines: deterministic, no
 * model download, the same vectors a database created with `embedder: 'local'` computes.
 */
export class QuiverLocalEmbeddings extends Embeddings {
  private embedder: Promise<LocalEmbedder> | null = null;

  constructor(params: EmbeddingsParams = {}) {
    super(params);
  }

  private local(): Promise<LocalEmbedder> {
    this.embedder ??= LocalEmbedder.create();
    return this.embedder;
  }

  /** The vector size (known once the embedder's table is loaded). */
  async dimension(): Promise<number> {
    return (await this.local()).dimension;
  }

  /** What a store records as these vectors' lineage. */
  async source(): Promise<EmbeddingSource> {
    const m = (await this.local()).manifest;
    return { provider: m.provider, model: m.model, revision: m.revision, fingerprint: m.fingerprint };
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return (await (await this.local()).embed(texts)).map((v) => Array.from(v));
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.embedDocuments([text]))[0]!;
  }
}
