import { ConfigError } from '../errors.js';
import type { Embedder, EmbedderManifest } from './embedder.js';

/**
 * Stands in for a recorded embedder that cannot be loaded here (a transformers model folder that
 * is absent, or @huggingface/transformers not installed). The database opens, keeps its
 * identity, and does everything that needs no new embedding (vector search, stats, check,
 * export, backup); embedding text raises ConfigError saying what to pass.
 */
export class UnavailableEmbedder implements Embedder {
  readonly dimension: number;

  constructor(
    readonly manifest: EmbedderManifest,
    private readonly reason: string,
  ) {
    this.dimension = manifest.dimension;
  }

  async embed(): Promise<Float32Array[]> {
    const m = this.manifest;
    throw new ConfigError(
      'CONFIG_INVALID',
      'embedder',
      `this database's embedder (${m.provider} model "${m.model}", fingerprint ${m.fingerprint.slice(0, 12)}...) is not available: ${this.reason}. Embedding text needs it: open(path, { embedder: { transformers: '<model folder>' } })`,
    );
  }
}
