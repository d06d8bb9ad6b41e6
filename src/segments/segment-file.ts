import { StorageError } from '../errors.js';
import { FORMAT_VERSION, SectionKind } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import { decodeSectioned, encodeSectioned, fileHeader, requireSection, sectionChunks, sectionHead, sectionPadding, type Hole } from '../format/sectioned-file.js';
import type { VaultState } from '../vault/vault-state.js';
import { recordsSection } from './records-section.js';
import { decodeVaultImage, historySections, VAULT_SECTION_KINDS, vaultMetaSection, vaultSections, type VaultImage } from './vault-image.js';
import type { VectorBlock } from './vector-block.js';

/**
 * FORMAT.md "Segment files": one vault at one epoch, as a sectioned file with magic QVSG, made
 * whole in memory (the vectors copied into one block). segmentChunks() yields the same bytes.
 */
export function encodeSegment(vault: VaultState): Uint8Array[] {
  return encodeSectioned('segment', FORMAT_VERSION, vaultSections(vault));
}

/**
 * @internal How much of a segment is made between turns of the event loop: `records` records of
 * the RECORDS section, or one chunk of `bytes` of vectors. Tests lower them.
 */
export const segmentSlices = { records: 2048, bytes: 4 << 20 };

/**
 * encodeSegment's bytes, made in slices: a generator of the file's chunks in order, with
 * `undefined` between slices of work that yield no bytes (the caller gives the event loop a turn
 * there, or at each chunk as it writes it). The vault is never copied whole: the vectors come in
 * chunks of segmentSlices.bytes, twice (a section's header holds the CRC of the payload after
 * it: the first pass computes it), and records are read in label order without a sort.
 * The vault must not change until the generator is done (a checkpoint holds the write order).
 */
export function* segmentChunks(vault: VaultState): Generator<Uint8Array | undefined, void> {
  const count = vault.records.count;
  const { records: perSlice, bytes: chunkBytes } = segmentSlices;
  const vectors = sectionHead(SectionKind.vectors, count * vault.dimension * 4);
  let crc = vectors.seed;
  for (const chunk of vectorChunks(vault, count, chunkBytes)) {
    crc = crc32c(chunk, crc);
    yield undefined;
  }
  vectors.header.writeUInt32LE(crc, 12);
  const parts = yield* recordsSection(vault.records.inLabelOrder(), count, perSlice);
  const recordBytes = parts.reduce((n, p) => n + p.byteLength, 0);
  const records = sectionHead(SectionKind.records, recordBytes);
  crc = records.seed;
  for (const part of parts) {
    for (let at = 0; at < part.byteLength; at += chunkBytes) {
      crc = crc32c(part.subarray(at, at + chunkBytes), crc);
      yield undefined;
    }
  }
  records.header.writeUInt32LE(crc, 12);
  const history = historySections(vault);
  yield fileHeader('segment', FORMAT_VERSION, VAULT_SECTION_KINDS.length);
  yield* sectionChunks(vaultMetaSection(vault, count));
  yield vectors.header;
  // A turn after each chunk too, whether or not writing it gave one.
  for (const chunk of vectorChunks(vault, count, chunkBytes)) yield* [chunk, undefined];
  yield sectionPadding(count * vault.dimension * 4);
  yield records.header;
  yield* parts;
  yield sectionPadding(recordBytes);
  for (const section of history) yield* sectionChunks(section);
}

/**
 * The vault's vectors in label order, `count` of them, copied into chunks of about `chunkBytes`
 * (a whole number of vectors), each into the same buffer: the caller is done with a chunk when it
 * asks for the next (FileSystem.writeFileSynced writes each before it takes the next). One buffer
 * for the whole vault, not a new one per chunk: a gigabyte of short-lived buffers would bring on
 * the collector's full pauses for external memory.
 */
function* vectorChunks(vault: VaultState, count: number, chunkBytes: number): Generator<Uint8Array> {
  const dim = vault.dimension;
  const perChunk = Math.max(1, Math.min(count, Math.floor(chunkBytes / (dim * 4))));
  const chunk = new Float32Array(perChunk * dim);
  const bytes = new Uint8Array(chunk.buffer);
  let n = 0;
  let total = 0;
  for (const vector of vault.records.vectorsInLabelOrder()) {
    if (total === count || vector.length !== dim) throw new StorageError('DATABASE_FAILED', 'internal: a vault\'s vectors are not as many as its records, or not of its dimension');
    chunk.set(vector, n * dim);
    n++;
    total++;
    if (n === perChunk) {
      yield bytes;
      n = 0;
    }
  }
  if (total !== count) throw new StorageError('DATABASE_FAILED', 'internal: a vault\'s vectors are not as many as its records');
  if (n > 0) yield bytes.subarray(0, n * dim * 4);
}

/**
 * A segment read whole; or, with `apart`, read without its VECTORS payload (`bytes` has a hole
 * there), whose vectors `apart.block` reads (engine/open/load.ts readSegment).
 */
export function decodeSegment(bytes: Uint8Array, dimension: number, file: string, apart?: { hole: Hole; block: VectorBlock }): VaultImage {
  const parsed = decodeSectioned(bytes, 'segment', file, apart?.hole);
  const sections: (Uint8Array | VectorBlock)[] = VAULT_SECTION_KINDS.map((kind) => requireSection(parsed, kind, file, `kind ${kind}`));
  if (apart) sections[VAULT_SECTION_KINDS.indexOf(SectionKind.vectors)] = apart.block;
  return decodeVaultImage(sections, dimension, file);
}
