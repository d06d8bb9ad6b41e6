/**
 * The embedder interface (brief section 3). Every embedder is built with `await X.create(...)`,
 * returns one normalised Float32Array of `dimension` values per text, and describes itself with
 * a manifest that the database stores as part of its identity (TEXT_EMBEDDER.manifest).
 */
export interface EmbedderManifest {
  /** 'local' (built in) or 'transformers'. */
  provider: string;
  /**
   * The model: 'default_v1', a transformers model folder's name, or a hub id. Informational for
   * a transformers model from a folder: its fingerprint identifies it, wherever the folder is.
   */
  model: string;
  /** The model's revision ('1' for default_v1, 'local' for a folder, the hub revision). */
  revision: string;
  dimension: number;
  /** SHA-256 (hex) of what determines the vectors: the artifact, or the model files. */
  fingerprint: string;
  /** True when the manifest and its artifact alone recreate the embedder. */
  rehydratable: boolean;
  /** The artifact's path relative to the database directory, if it has one. */
  artifact: string | null;
  /**
   * Where the model was loaded from when recorded (a transformers model folder): only a hint for
   * reopening without naming the embedder, never part of the identity. Optional.
   */
  location?: string;
}

export interface Embedder {
  readonly dimension: number;
  readonly manifest: EmbedderManifest;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /**
   * A search query's vector, its words weighted by `termWeight` (the vault's own term
   * statistics). Optional: embedders without it embed queries like documents.
   */
  embedQuery?(text: string, termWeight: (term: string) => number): Promise<Float32Array>;
  /** The bytes to store at `manifest.artifact` (rehydratable embedders). */
  artifact?(): Uint8Array;
}

/**
 * Fields compared to decide whether two embedders produce the same vectors. For a transformers
 * model from a folder, `model` is left out: the fingerprint of its files decides (resolve.ts).
 */
export const IDENTITY_FIELDS = ['provider', 'model', 'revision', 'dimension', 'fingerprint'] as const;
