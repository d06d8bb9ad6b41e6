import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { FileName } from '../format/constants.js';
import type { Embedder, EmbedderManifest } from './embedder.js';
import { defaultArtifact } from './shipped-table.js';
import { decodeLocalEmbed, type LocalEmbedTable } from './localembed-file.js';
import { tokenize } from './tokenize.js';
import { embedV2, isV2, v2Context, v2Dimension, type V2Context } from './local-v2.js';
import { defaultV2Artifact } from './v2-table.js';
import { seededRandom } from '../util/random.js';

/** The built-in models `local` can create; a new database gets LOCAL_DEFAULT (README "Text: embedders and documents"). */
export type LocalModel = 'default_v1' | 'default_v2';
export const LOCAL_DEFAULT: LocalModel = 'default_v2';

/**
 * The built-in embedder `local` (README "Text: embedders and documents"). `default_v1`: the SIF-weighted mean of
 * the GloVe vectors of a text's words, normalised. A word outside the table gets a
 * pseudo-random vector derived from its FNV-1a hash with integer arithmetic only, so rare
 * words and identifiers still count, identically on every platform. No network, no model.
 * `default_v2` (local-v2.ts) refines it; the artifact's `model` says which rule applies, and
 * default_v1's code path below is left exactly as it was, so its vectors stay bit-identical.
 */
export class LocalEmbedder implements Embedder {
  readonly dimension: number;
  readonly manifest: EmbedderManifest;
  private readonly index: Map<string, number>;
  private readonly v2: V2Context | null;

  private constructor(
    private readonly bytes: Uint8Array,
    private readonly table: LocalEmbedTable,
  ) {
    this.dimension = isV2(table.meta) ? v2Dimension(table.meta) : table.meta.dimension;
    this.index = new Map(table.vocabulary.map((w, i) => [w, i]));
    this.v2 = isV2(table.meta) ? v2Context(table, this.index, hashedVector) : null;
    this.manifest = {
      provider: 'local',
      model: table.meta.model,
      revision: table.meta.revision,
      dimension: this.dimension,
      fingerprint: createHash('sha256').update(bytes).digest('hex'),
      rehydratable: true,
      artifact: `${FileName.textEmbedder}/${table.meta.model}_${this.dimension}.localembed`,
    };
  }

  /** From the installed npm package (cached per installation), or from an artifact's bytes. */
  static async create(options: { artifact?: Uint8Array; model?: LocalModel; /** The artifact's path, for errors. */ file?: string } = {}): Promise<LocalEmbedder> {
    const model = options.model ?? LOCAL_DEFAULT;
    if (model !== 'default_v1' && model !== 'default_v2') throw new ValidationError('model', "must be 'default_v1' or 'default_v2'");
    const bytes = options.artifact ?? (model === 'default_v1' ? defaultArtifact() : defaultV2Artifact());
    return new LocalEmbedder(bytes, decodeLocalEmbed(bytes, options.artifact ? (options.file ?? 'artifact.localembed') : `${model}.localembed`));
  }

  /** An embedder over a table built in memory (the evaluation harness compares variants this way). */
  static fromTable(bytes: Uint8Array): LocalEmbedder {
    return new LocalEmbedder(bytes, decodeLocalEmbed(bytes, 'table'));
  }

  artifact(): Uint8Array {
    return this.bytes;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((text, i) => this.embedOne(text, `texts[${i}]`));
  }

  /**
   * default_v2 weighs a query's words by the vault's inverse document frequencies (FORMAT.md
   * "default_v2"); default_v1 embeds queries like documents, as it always has.
   */
  async embedQuery(text: string, termWeight: (term: string) => number): Promise<Float32Array> {
    const meta = this.table.meta;
    if (!isV2(meta) || !this.v2) return this.embedOne(text, 'query');
    if (typeof text !== 'string') throw new ValidationError('query', 'must be a string');
    const v = embedV2(this.v2, text, termWeight);
    if (v === null) throw new ValidationError('query', 'has no words to embed');
    return v;
  }

  private embedOne(text: string, field: string): Float32Array {
    if (typeof text !== 'string') throw new ValidationError(field, 'must be a string');
    const meta2 = this.table.meta;
    if (isV2(meta2) && this.v2) {
      const v = embedV2(this.v2, text);
      if (v === null) throw new ValidationError(field, 'has no words to embed');
      return v;
    }
    const { weights, scales, vectors, meta } = this.table;
    const dim = this.dimension;
    const acc = new Float64Array(dim);
    let words = 0;
    for (const token of tokenize(text)) {
      words++;
      const row = this.index.get(token);
      if (row !== undefined) {
        const k = weights[row]! * scales[row]!;
        for (let j = 0; j < dim; j++) acc[j]! += k * vectors[row * dim + j]!;
      } else {
        const v = hashedVector(token, dim);
        for (let j = 0; j < dim; j++) acc[j]! += meta.oovWeight * meta.oovNorm * v[j]!;
      }
    }
    if (words === 0) throw new ValidationError(field, 'has no words to embed');
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += acc[j]! * acc[j]!;
    norm = Math.sqrt(norm) || 1;
    return Float32Array.from(acc, (x) => x / norm);
  }
}

/** A unit vector determined by the word alone: FNV-1a seeds a mulberry32 stream of uniforms. */
export function hashedVector(word: string, dim: number): Float64Array {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(word, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  const uniform = seededRandom(h);
  const out = new Float64Array(dim);
  let norm = 0;
  for (let j = 0; j < dim; j++) {
    out[j] = uniform() * 2 - 1;
    norm += out[j]! * out[j]!;
  }
  norm = Math.sqrt(norm);
  for (let j = 0; j < dim; j++) out[j]! /= norm;
  return out;
}
