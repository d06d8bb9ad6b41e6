import { FORMAT_VERSION } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, requireSection } from '../format/sectioned-file.js';
import type { VaultState } from '../vault/vault-state.js';
import { decodeVaultImage, VAULT_SECTION_KINDS, vaultSections, type VaultImage } from './vault-image.js';

/** FORMAT.md "Segment files": one vault at one epoch, as a sectioned file with magic QVSG. */
export function encodeSegment(vault: VaultState): Uint8Array[] {
  return encodeSectioned('segment', FORMAT_VERSION, vaultSections(vault));
}

/** `verified`: the whole file already matched the manifest's CRC, so section CRCs are not computed again. */
export function decodeSegment(bytes: Uint8Array, dimension: number, file: string, verified = false): VaultImage {
  const parsed = decodeSectioned(bytes, 'segment', file, verified);
  return decodeVaultImage(VAULT_SECTION_KINDS.map((kind) => requireSection(parsed, kind, file, `kind ${kind}`)), dimension, file);
}
