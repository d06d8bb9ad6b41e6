import { FORMAT_VERSION, SectionKind } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, requireSection, type Hole } from '../format/sectioned-file.js';
import type { VaultState } from '../vault/vault-state.js';
import { decodeVaultImage, VAULT_SECTION_KINDS, vaultSections, type VaultImage } from './vault-image.js';
import type { VectorBlock } from './vector-block.js';

/** FORMAT.md "Segment files": one vault at one epoch, as a sectioned file with magic QVSG. */
export function encodeSegment(vault: VaultState): Uint8Array[] {
  return encodeSectioned('segment', FORMAT_VERSION, vaultSections(vault));
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
