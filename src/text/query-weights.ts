import type { Embedder } from '../embedder/embedder.js';
import type { TextIndex } from './text-index.js';
import { STOP_WORDS } from './text-tokens.js';

/**
 * Query-side term weights from a vault's own statistics (README "Full-text and hybrid search"): the square
 * root of each word's BM25 idf over the vault's documents, so a query's vector leans on the
 * words that tell this vault's documents apart ("esbuild") rather than on the ones every
 * document shares ("javascript"). Stop words are not indexed: they count as in every document.
 * Documents are embedded without it, so stored vectors never depend on what else is stored;
 * only the query does, and the vault's index is part of the database, so a reopened database
 * (or a reader) weighs the same query the same way.
 */
export function idfWeights(index: TextIndex): ((term: string) => number) | null {
  const n = index.documents;
  if (n === 0) return null;
  const idf = (df: number) => Math.sqrt(Math.log(1 + (n - df + 0.5) / (df + 0.5)));
  const floor = idf(n);
  return (term) => (STOP_WORDS.has(term) ? floor : idf(index.documentFrequency(term)));
}

/** The query's vector: weighted by the vault's statistics where the embedder supports it. */
export async function embedQuery(embedder: Embedder, text: string, index: TextIndex): Promise<Float32Array> {
  const weights = embedder.embedQuery ? idfWeights(index) : null;
  if (weights && embedder.embedQuery) return embedder.embedQuery(text, weights);
  return ((await embedder.embed([text])) as [Float32Array])[0];
}
