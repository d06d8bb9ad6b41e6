import { CorruptionError } from '../errors.js';
import { FORMAT_VERSION, FileName, SectionKind } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, requireSection } from '../format/sectioned-file.js';
import { jsonObject } from '../format/decode-guard.js';
import type { EmbedderManifest } from './embedder.js';
import { manifestProblem } from './manifest-check.js';

/** FORMAT.md "TEXT_EMBEDDER.manifest": the embedder that produced the database's vectors. */
export function encodeEmbedderManifest(manifest: EmbedderManifest): Uint8Array[] {
  return encodeSectioned('embedderManifest', FORMAT_VERSION, [{ kind: SectionKind.json, payload: Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8') }]);
}

export function decodeEmbedderManifest(bytes: Uint8Array): EmbedderManifest {
  const file = FileName.embedderManifest;
  const parsed = decodeSectioned(bytes, 'embedderManifest', file);
  const m = jsonObject(requireSection(parsed, SectionKind.json, file, 'JSON'), file) as unknown as EmbedderManifest;
  const problem = manifestProblem(m);
  if (problem) throw new CorruptionError(file, problem);
  return m;
}
