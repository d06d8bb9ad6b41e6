import { CorruptionError } from '../errors.js';
import { guarded } from '../format/decode-guard.js';
import { FORMAT_VERSION, GRAPH_SEGMENT_VERSION, SectionKind } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, requireSection, type Hole } from '../format/sectioned-file.js';
import type { StoredRecord } from '../vault/record-store.js';
import type { VaultState } from '../vault/vault-state.js';
import { GraphVectorBlock } from './graph-vector-block.js';
import { GraphRows } from './graph-vectors.js';
import { decodeVaultImage, VAULT_SECTION_KINDS, vaultSections, type VaultImage } from './vault-image.js';
import type { SharedMap, VectorBlock } from './vector-block.js';

/**
 * FORMAT.md "Segment files": one vault at one epoch, as a sectioned file with magic QVSG. With
 * `graphVectors` (engine/maintenance/checkpoint.ts, from the graph just saved) the vectors'
 * only home is the graph: GRAPH_VECTORS stands in VECTORS' place, and the file is version 2.
 */
export function encodeSegment(vault: VaultState, graphVectors?: { records: StoredRecord[]; payload: Uint8Array } | null): Uint8Array[] {
  return encodeSectioned('segment', graphVectors ? GRAPH_SEGMENT_VERSION : FORMAT_VERSION, vaultSections(vault, graphVectors));
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
