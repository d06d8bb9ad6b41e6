import * as path from 'node:path';
import { ConfigError, CorruptionError, EmbedderDriftError, type DriftField } from '../errors.js';
import { FileName } from '../format/constants.js';
import { atomicReplace } from '../fs/atomic-replace.js';
import { readIfExists, type FileSystem } from '../fs/file-system.js';
import { IDENTITY_FIELDS, type Embedder, type EmbedderManifest } from './embedder.js';
import { LocalEmbedder } from './local-embedder.js';
import { decodeEmbedderManifest, encodeEmbedderManifest } from './manifest-file.js';

/** What `open({ embedder })` accepts: the built-in one, a transformers model folder, or an instance. */
export type EmbedderOption = 'local' | { transformers: string; allowRemoteModels?: boolean } | Embedder;

export async function createEmbedder(option: EmbedderOption): Promise<Embedder> {
  if (option === 'local') return LocalEmbedder.create();
  if (typeof option === 'object' && option !== null && 'transformers' in option) {
    const { TransformersEmbedder } = await import('./transformers-embedder.js');
    return TransformersEmbedder.create({ model: option.transformers, allowRemoteModels: option.allowRemoteModels ?? false });
  }
  if (typeof option === 'object' && option !== null && typeof (option as Embedder).embed === 'function' && (option as Embedder).manifest) return option as Embedder;
  throw new ConfigError('CONFIG_INVALID', 'embedder', "embedder: must be 'local', { transformers: '<model folder>' } or an Embedder");
}

export function driftBetween(stored: EmbedderManifest, given: EmbedderManifest): DriftField[] {
  return IDENTITY_FIELDS.filter((f) => stored[f] !== given[f]).map((f) => ({ field: f, stored: stored[f], given: given[f] }));
}

export async function readEmbedderManifest(fs: FileSystem, dir: string): Promise<EmbedderManifest | null> {
  const bytes = await readIfExists(fs, path.join(dir, FileName.embedderManifest), FileName.embedderManifest);
  return bytes ? decodeEmbedderManifest(bytes) : null;
}

/** Writes an embedder's artifact (if any) and then its manifest, each atomically. */
export async function writeEmbedder(fs: FileSystem, dir: string, embedder: Embedder): Promise<void> {
  const { manifest } = embedder;
  if (manifest.artifact && embedder.artifact) {
    await fs.mkdir(path.join(dir, FileName.textEmbedder));
    await atomicReplace(fs, path.join(dir, manifest.artifact), [embedder.artifact()]);
  }
  await atomicReplace(fs, path.join(dir, FileName.embedderManifest), encodeEmbedderManifest(manifest));
}

/** The recorded embedder, recreated from the manifest (and its artifact, or its model folder). */
export async function rehydrate(fs: FileSystem, dir: string, stored: EmbedderManifest): Promise<Embedder> {
  let embedder: Embedder;
  if (stored.provider === 'local') {
    const bytes = stored.artifact ? await readIfExists(fs, path.join(dir, stored.artifact), stored.artifact) : null;
    if (!bytes) throw new CorruptionError(stored.artifact ?? FileName.embedderManifest, "the built-in embedder's artifact is missing");
    embedder = await LocalEmbedder.create({ artifact: bytes });
  } else if (stored.provider === 'transformers') {
    const { TransformersEmbedder } = await import('./transformers-embedder.js');
    embedder = await TransformersEmbedder.create({ model: stored.model, allowRemoteModels: false });
  } else {
    throw new ConfigError('CONFIG_INVALID', 'embedder', `embedder provider "${stored.provider}" cannot be recreated; pass the embedder to open()`);
  }
  const drift = driftBetween(stored, embedder.manifest);
  if (drift.length > 0) {
    if (stored.provider === 'local') throw new CorruptionError(stored.artifact!, 'the artifact does not match the fingerprint in TEXT_EMBEDDER.manifest');
    throw new EmbedderDriftError(drift);
  }
  return embedder;
}

/**
 * The embedder a database opens with: the one given (which must match the recorded one, or
 * EmbedderDriftError lists every field that differs), else the recorded one rehydrated, else none.
 */
export async function resolveEmbedder(fs: FileSystem, dir: string, option: EmbedderOption | undefined, stored: EmbedderManifest | null): Promise<Embedder | null> {
  if (option === undefined) return stored ? rehydrate(fs, dir, stored) : null;
  // 'local' names the built-in embedder, whichever model a database recorded: a default_v1
  // database reopens as default_v1 (new databases get LOCAL_DEFAULT; reembed('local') moves on).
  if (option === 'local' && stored?.provider === 'local') return rehydrate(fs, dir, stored);
  const given = await createEmbedder(option);
  if (stored) {
    const drift = driftBetween(stored, given.manifest);
    if (drift.length > 0) throw new EmbedderDriftError(drift);
  }
  return given;
}
