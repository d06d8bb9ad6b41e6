import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ConfigError, CorruptionError, EmbedderDriftError, type DriftField } from '../errors.js';
import { FileName } from '../format/constants.js';
import { atomicReplace } from '../fs/atomic-replace.js';
import { readIfExists, type FileSystem } from '../fs/file-system.js';
import { IDENTITY_FIELDS, type Embedder, type EmbedderManifest } from './embedder.js';
import { LocalEmbedder } from './local-embedder.js';
import { decodeEmbedderManifest, encodeEmbedderManifest } from './manifest-file.js';
import { embedderProblem } from './manifest-check.js';
import { UnavailableEmbedder } from './unavailable-embedder.js';

/** What `open({ embedder })` accepts: the built-in one, a transformers model folder, or an instance. */
export type EmbedderOption = 'local' | { transformers: string; allowRemoteModels?: boolean } | Embedder;

export async function createEmbedder(option: EmbedderOption): Promise<Embedder> {
  if (option === 'local') return LocalEmbedder.create();
  if (typeof option === 'object' && option !== null && 'transformers' in option) {
    const { TransformersEmbedder } = await import('./transformers-embedder.js');
    return TransformersEmbedder.create({ model: option.transformers, allowRemoteModels: option.allowRemoteModels ?? false });
  }
  if (typeof option === 'object' && option !== null && typeof (option as Embedder).embed === 'function') {
    const problem = embedderProblem(option as Embedder);
    if (problem) throw new ConfigError('CONFIG_INVALID', 'embedder', `embedder: ${problem}`);
    return option as Embedder;
  }
  throw new ConfigError('CONFIG_INVALID', 'embedder', "embedder: must be 'local', { transformers: '<model folder>' } or an Embedder");
}

/** A transformers model loaded from a folder is identified by its files' hash, not its name or path. */
const byFiles = (m: EmbedderManifest): boolean => m.provider === 'transformers' && /^[0-9a-f]{64}$/.test(m.fingerprint);

export function driftBetween(stored: EmbedderManifest, given: EmbedderManifest): DriftField[] {
  const fields = byFiles(stored) && byFiles(given) ? IDENTITY_FIELDS.filter((f) => f !== 'model') : IDENTITY_FIELDS;
  return fields.filter((f) => stored[f] !== given[f]).map((f) => ({ field: f, stored: stored[f], given: given[f] }));
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
    embedder = await LocalEmbedder.create({ artifact: bytes, file: stored.artifact! });
  } else if (stored.provider === 'transformers') {
    const found = await loadRecordedModel(stored);
    if (found instanceof UnavailableEmbedder) return found;
    embedder = found;
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
 * The recorded transformers model, from where it was last loaded (`location`; `model` itself
 * in manifests written before `location` existed). When it is not there, or the optional
 * @huggingface/transformers is not installed, the database still opens: only embedding text
 * needs the model (UnavailableEmbedder says so).
 */
async function loadRecordedModel(stored: EmbedderManifest): Promise<Embedder> {
  const folder = stored.location ?? (path.isAbsolute(stored.model) ? stored.model : null);
  const hub = !byFiles(stored);
  if (!hub && (folder === null || !(await isDirectory(folder)))) {
    return new UnavailableEmbedder(stored, folder ? `its model folder ${folder} is not there` : 'no model folder is recorded');
  }
  const { TransformersEmbedder } = await import('./transformers-embedder.js');
  try {
    return await TransformersEmbedder.create({ model: hub ? stored.model : folder!, allowRemoteModels: false });
  } catch (err) {
    if (err instanceof ConfigError) return new UnavailableEmbedder(stored, err.message);
    throw err;
  }
}

const isDirectory = (p: string): Promise<boolean> => stat(p).then((s) => s.isDirectory(), () => false);

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
