import { FORMAT_VERSION, SectionKind } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, requireSection } from '../format/sectioned-file.js';
import type { VaultState } from '../vault/vault-state.js';
import { decodeVaultImage, vaultSections, type VaultImage } from './vault-image.js';

/** FORMAT.md "Segment files": one vault at one epoch, as a sectioned file with magic QVSG. */
export function encodeSegment(vault: VaultState): Uint8Array[] {
  return encodeSectioned('segment', FORMAT_VERSION, vaultSections(vault));
}

export function decodeSegment(bytes: Uint8Array, dimension: number, file: string): VaultImage {
  const parsed = decodeSectioned(bytes, 'segment', file);
  return decodeVaultImage(
    requireSection(parsed, SectionKind.vaultMeta, file, 'vault meta'),
    requireSection(parsed, SectionKind.vectors, file, 'vectors'),
    requireSection(parsed, SectionKind.records, file, 'records'),
    dimension,
    file,
  );
}
