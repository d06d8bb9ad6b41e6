import { CorruptionError } from '../errors.js';
import { FORMAT_VERSION, SectionKind } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, requireSection } from '../format/sectioned-file.js';
import { guarded, jsonObject } from '../format/decode-guard.js';

/**
 * FORMAT.md ".localembed": everything the built-in embedder needs, in one sectioned file
 * (magic QVLE). With it and TEXT_EMBEDDER.manifest a database embeds identically anywhere,
 * with or without the npm package the table came from.
 */
export interface LocalEmbedMeta {
  model: string;
  revision: string;
  dimension: number;
  words: number;
  /** Smooth inverse frequency: weight(w) = a / (a + p(w)). */
  sifA: number;
  /** p(word of rank r, from 0) = 1 / ((r + 1) * H), H the harmonic number of zipfN. */
  zipfN: number;
  /** Weight and norm of the hashed vector an out-of-vocabulary word gets. */
  oovWeight: number;
  oovNorm: number;
  source: string;
}

export interface LocalEmbedTable {
  meta: LocalEmbedMeta;
  vocabulary: string[];
  weights: Float32Array;
  scales: Float32Array;
  vectors: Int8Array;
}

export function encodeLocalEmbed(table: LocalEmbedTable): Uint8Array[] {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return encodeSectioned('localEmbed', FORMAT_VERSION, [
    { kind: SectionKind.json, payload: Buffer.from(JSON.stringify(table.meta), 'utf8') },
    { kind: SectionKind.vocabulary, payload: Buffer.from(table.vocabulary.join('\n'), 'utf8') },
    { kind: SectionKind.wordWeights, payload: bytes(table.weights) },
    { kind: SectionKind.rowScales, payload: bytes(table.scales) },
    { kind: SectionKind.int8Vectors, payload: bytes(table.vectors) },
  ]);
}

export function decodeLocalEmbed(buf: Uint8Array, file: string): LocalEmbedTable {
  return guarded(file, () => decodeLocalEmbedBody(buf, file));
}

function decodeLocalEmbedBody(buf: Uint8Array, file: string): LocalEmbedTable {
  const parsed = decodeSectioned(buf, 'localEmbed', file);
  const section = (kind: number, what: string) => requireSection(parsed, kind, file, what);
  const meta = jsonObject(section(SectionKind.json, 'meta'), file, 'meta') as unknown as LocalEmbedMeta;
  if (!Number.isSafeInteger(meta.words) || meta.words < 0 || !Number.isSafeInteger(meta.dimension) || meta.dimension < 1) throw new CorruptionError(file, 'meta has no valid word count and dimension');
  const vocabulary = Buffer.from(section(SectionKind.vocabulary, 'vocabulary')).toString('utf8').split('\n');
  const f32 = (b: Uint8Array) => {
    const out = new Float32Array(b.byteLength / 4);
    new Uint8Array(out.buffer).set(b);
    return out;
  };
  const weights = f32(section(SectionKind.wordWeights, 'weights'));
  const scales = f32(section(SectionKind.rowScales, 'scales'));
  const raw = section(SectionKind.int8Vectors, 'vectors');
  const vectors = new Int8Array(raw.byteLength);
  new Uint8Array(vectors.buffer).set(raw);
  const n = meta.words;
  if (vocabulary.length !== n || weights.length !== n || scales.length !== n || vectors.length !== n * meta.dimension) {
    throw new CorruptionError(file, 'section sizes do not match the word count');
  }
  return { meta, vocabulary, weights, scales, vectors };
}
