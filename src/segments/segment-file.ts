import { CorruptionError, StorageError } from '../errors.js';
import { guarded } from '../format/decode-guard.js';
import { FORMAT_VERSION, GRAPH_SEGMENT_VERSION, SectionKind } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import { decodeSectioned, encodeSectioned, fileHeader, requireSection, sectionChunks, sectionHead, sectionPadding, type Hole } from '../format/sectioned-file.js';
import type { StoredRecord } from '../vault/stored-record.js';
import type { VaultState } from '../vault/vault-state.js';
import { GraphVectorBlock } from './graph-vector-block.js';
import { GraphRows } from './graph-vectors.js';
import { recordsSection } from './records-section.js';
import { decodeVaultImage, historySections, VAULT_SECTION_KINDS, vaultMetaSection, vaultSections, type VaultImage } from './vault-image.js';
import type { SharedMap, VectorBlock } from './vector-block.js';

/** A GRAPH_VECTORS payload built from the vault's saved graph, for `records` in label order (engine/maintenance/checkpoint.ts). */
export interface GraphVectors {
  /** The records in label order; null: the vault's, walked as RecordStore.inLabelOrder() gives them. */
  records: StoredRecord[] | null;
  /** The payload's bytes in order, in parts (none copied into one buffer). */
  payload: Uint8Array[];
}

/**
 * FORMAT.md "Segment files": one vault at one epoch, as a sectioned file with magic QVSG, made
 * whole in memory (the vectors copied into one block). With `graphVectors` the vectors' only
 * home is the graph: GRAPH_VECTORS stands in VECTORS' place, and the file is version 2.
 * segmentChunks() yields the same bytes.
 */
export function encodeSegment(vault: VaultState, graphVectors?: GraphVectors | null): Uint8Array[] {
  return encodeSectioned('segment', graphVectors ? GRAPH_SEGMENT_VERSION : FORMAT_VERSION, vaultSections(vault, graphVectors));
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
export function* segmentChunks(vault: VaultState, graphVectors?: GraphVectors | null): Generator<Uint8Array | undefined, void> {
  const count = vault.records.count;
  const { records: perSlice, bytes: chunkBytes } = segmentSlices;
  const vectors = sectionHead(SectionKind.vectors, count * vault.dimension * 4);
  let crc = vectors.seed;
  if (!graphVectors) {
    for (const chunk of vectorChunks(vault, count, chunkBytes)) {
      crc = crc32c(chunk, crc);
      yield undefined;
    }
  }
  vectors.header.writeUInt32LE(crc, 12);
  const parts = yield* recordsSection(graphVectors?.records ?? vault.records.inLabelOrder(), count, perSlice);
  const recordBytes = parts.reduce((n, p) => n + p.byteLength, 0);
  const records = sectionHead(SectionKind.records, recordBytes);
  records.header.writeUInt32LE(yield* partsCrc(parts, records.seed, chunkBytes), 12);
  const history = historySections(vault);
  yield fileHeader('segment', graphVectors ? GRAPH_SEGMENT_VERSION : FORMAT_VERSION, VAULT_SECTION_KINDS.length);
  yield* sectionChunks(vaultMetaSection(vault, count));
  if (graphVectors) yield* partsChunks(SectionKind.graphVectors, graphVectors.payload, chunkBytes);
  else {
    yield vectors.header;
    // A turn after each chunk too, whether or not writing it gave one.
    for (const chunk of vectorChunks(vault, count, chunkBytes)) yield* [chunk, undefined];
    yield sectionPadding(count * vault.dimension * 4);
  }
  yield records.header;
  yield* parts;
  yield sectionPadding(recordBytes);
  for (const section of history) yield* sectionChunks(section);
}

/** The CRC32C of `parts` in order from `seed`, `chunkBytes` at a time, with a turn (`undefined`) after each. */
export function* partsCrc(parts: readonly Uint8Array[], seed: number, chunkBytes: number): Generator<undefined, number> {
  let crc = seed;
  for (const part of parts) {
    for (let at = 0; at < part.byteLength; at += chunkBytes) {
      crc = crc32c(part.subarray(at, at + chunkBytes), crc);
      yield undefined;
    }
  }
  return crc;
}

/** A section whose payload is `parts` in order: its CRC made in slices, then its header, the parts and padding. */
export function* partsChunks(kind: number, parts: readonly Uint8Array[], chunkBytes: number): Generator<Uint8Array | undefined, void> {
  const length = parts.reduce((n, p) => n + p.byteLength, 0);
  const head = sectionHead(kind, length);
  head.header.writeUInt32LE(yield* partsCrc(parts, head.seed, chunkBytes), 12);
  yield head.header;
  yield* parts;
  yield sectionPadding(length);
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
 * there), whose vectors `apart.block` reads (engine/open/load.ts readSegment). A version 2
 * segment's vectors are in its graph: its image's block must be bound to the graph before use.
 */
/** A version 2 segment's GRAPH_VECTORS payload read apart (its CRC checked): a view of `map`, which the vault's block then owns, or a private copy. */
export interface SharedRows {
  payload: Uint8Array;
  map: SharedMap | null;
}

export function decodeSegment(bytes: Uint8Array, dimension: number, file: string, apart?: { hole: Hole; block?: VectorBlock; rows?: SharedRows }): VaultImage {
  const parsed = decodeSectioned(bytes, 'segment', file, apart?.hole);
  if (parsed.version !== FORMAT_VERSION && parsed.version !== GRAPH_SEGMENT_VERSION) throw new CorruptionError(file, `segment version ${parsed.version} is not one this build reads`);
  const inGraph = parsed.version === GRAPH_SEGMENT_VERSION;
  const kinds = VAULT_SECTION_KINDS.map((kind) => (inGraph && kind === SectionKind.vectors ? SectionKind.graphVectors : kind));
  const sections: (Uint8Array | VectorBlock | GraphVectorBlock)[] = kinds.map((kind) => requireSection(parsed, kind, file, `kind ${kind}`));
  const at = VAULT_SECTION_KINDS.indexOf(SectionKind.vectors);
  if (inGraph) {
    if (apart?.block) throw new CorruptionError(file, 'a version 2 segment holds a VECTORS section');
    const payload = apart?.rows?.payload ?? (sections[at] as Uint8Array);
    sections[at] = new GraphVectorBlock(guarded(file, () => GraphRows.decode(payload, dimension, file)), dimension, apart?.rows?.map ?? null);
  } else if (apart?.rows) throw new CorruptionError(file, 'a version 1 segment holds a GRAPH_VECTORS section');
  else if (apart?.block) sections[at] = apart.block;
  return decodeVaultImage(sections, dimension, file);
}
