import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigError, ValidationError } from '../errors.js';
import type { Embedder, EmbedderManifest } from './embedder.js';

export interface TransformersOptions {
  /** A local model folder (config.json, tokenizer files, onnx/model.onnx), or a hub id with allowRemoteModels. */
  model: string;
  /** Let @huggingface/transformers download from the hub (off by default: no network). */
  allowRemoteModels?: boolean;
  revision?: string;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
}

/**
 * @huggingface/transformers is an optional peer dependency (it brings onnxruntime, hundreds of
 * MB): imported only when a transformers embedder is made, with an error that says what to install.
 */
async function loadTransformers(): Promise<typeof import('@huggingface/transformers')> {
  try {
    return await import('@huggingface/transformers');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConfigError('CONFIG_INVALID', 'embedder', 'transformers embedders need the optional peer dependency @huggingface/transformers: run npm install @huggingface/transformers', { cause });
    }
    throw new ConfigError('CONFIG_INVALID', 'embedder', `@huggingface/transformers failed to load: ${(cause as Error).message}`, { cause });
  }
}

type Extractor = (texts: string[], options: { pooling: 'mean'; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>;

/** SHA-256 over every file of a model folder, in path order: path, NUL, length, bytes. */
async function fingerprintFolder(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<string[]> => {
    const out: string[] = [];
    for (const entry of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) out.push(...(await walk(child)));
      else if (entry.isFile()) out.push(child);
    }
    return out;
  };
  for (const file of (await walk('')).sort()) {
    const bytes = await fs.readFile(path.join(root, file));
    hash.update(`${file}\0${bytes.byteLength}\0`).update(bytes);
  }
  return hash.digest('hex');
}

/**
 * Any feature-extraction model @huggingface/transformers can load: mean pooling over the
 * attention mask, then L2 normalisation. The fingerprint hashes the model's files, so a
 * changed model is a different embedder (EmbedderDriftError on reopen).
 */
export class TransformersEmbedder implements Embedder {
  private constructor(
    private readonly extract: Extractor,
    readonly manifest: EmbedderManifest,
    private readonly batchSize: number,
  ) {}

  get dimension(): number {
    return this.manifest.dimension;
  }

  static async create(options: TransformersOptions): Promise<TransformersEmbedder> {
    const { env, pipeline } = await loadTransformers();
    const allowRemote = options.allowRemoteModels ?? false;
    let modelId = options.model;
    let fingerprint: string;
    let modelName = options.model;
    const folder = path.resolve(options.model);
    const isFolder = await fs.stat(folder).then((s) => s.isDirectory(), () => false);
    if (isFolder) {
      env.localModelPath = path.dirname(folder) + path.sep;
      modelId = path.basename(folder);
      modelName = modelId;
      fingerprint = await fingerprintFolder(folder);
    } else if (!allowRemote) {
      throw new ConfigError('CONFIG_INVALID', 'embedder', `no model folder at ${folder} (downloading from the hub is off; pass allowRemoteModels: true to allow it)`);
    } else {
      fingerprint = `hub:${options.model}@${options.revision ?? 'main'}`;
    }
    env.allowLocalModels = true;
    env.allowRemoteModels = allowRemote;
    let extractor: Extractor;
    try {
      extractor = (await pipeline('feature-extraction', modelId, { ...(options.revision ? { revision: options.revision } : {}), dtype: 'fp32' })) as unknown as Extractor;
    } catch (cause) {
      throw new ConfigError('CONFIG_INVALID', 'embedder', `@huggingface/transformers could not load ${options.model}: ${(cause as Error).message}`, { cause });
    }
    const probe = await extractor(['dimension probe'], { pooling: 'mean', normalize: true });
    const dimension = probe.dims.at(-1)!;
    const manifest: EmbedderManifest = {
      provider: 'transformers',
      model: modelName,
      revision: options.revision ?? 'local',
      dimension,
      fingerprint,
      rehydratable: false,
      artifact: null,
      ...(isFolder ? { location: folder } : {}),
    };
    return new TransformersEmbedder(extractor, manifest, options.batchSize ?? 32);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    texts.forEach((t, i) => {
      if (typeof t !== 'string' || t.length === 0) throw new ValidationError(`texts[${i}]`, 'must be a non-empty string');
    });
    const out: Float32Array[] = [];
    const dim = this.dimension;
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const batch = texts.slice(i, i + this.batchSize);
      const result = await this.extract([...batch], { pooling: 'mean', normalize: true });
      for (let j = 0; j < batch.length; j++) {
        const v = Float32Array.from(result.data.subarray(j * dim, (j + 1) * dim));
        // A text whose every token the model maps to a zero vector pools to zero, which
        // normalising turns into NaN: refuse it rather than store or search with NaN.
        if (!v.every(Number.isFinite) || v.every((x) => x === 0)) throw new ValidationError(`texts[${i + j}]`, 'embeds to a zero vector (the model knows none of its tokens)');
        out.push(v);
      }
    }
    return out;
  }
}
