/**
 * The embedder interface (brief section 3). Implementations arrive with the embedder work;
 * the engine stores vectors and knows nothing of text until then.
 *
 * Construction is `await SomeEmbedder.create(...)`; `embed()` returns one Float32Array of
 * `dimension` values per text.
 */
export interface EmbedderManifest {
  provider: string;
  model: string;
  revision: string;
  dimension: number;
  /** A hash that changes whenever the embedder would produce different vectors. */
  fingerprint: string;
  /** True when the manifest and its artifact alone can recreate the embedder. */
  rehydratable: boolean;
  /** Path of the embedder's artifact, relative to the database directory, if it has one. */
  artifact: string | null;
}

export interface Embedder {
  readonly dimension: number;
  readonly manifest: EmbedderManifest;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}
