import { CorruptionError } from '../errors.js';
import { decode, encode } from '../format/codec.js';
import { guarded } from '../format/decode-guard.js';
import { FORMAT_VERSION, FileName, SectionKind } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, type Section } from '../format/sectioned-file.js';
import type { VaultState } from '../vault/vault-state.js';
import { decodeRootRecord, type RootRecord } from '../format/root-record.js';
import { decodeVaultImage, VAULT_SECTION_KINDS, vaultSections, type VaultImage } from './vault-image.js';

/**
 * FORMAT.md "quiver.snapshot": snapshot mode keeps the whole state in one sectioned file
 * (magic QVSN): a meta section, then for each vault its three vault sections and a graph
 * section (the saved hnswlib graph, empty for a flat index).
 */
export interface SnapshotMeta {
  epoch: number;
  checkpointLsn: number;
  nextVaultNumber: number;
  vaults: number;
  /** What must exist beside the snapshot (FORMAT.md "What the root records"); null in an older snapshot. */
  record: RootRecord | null;
}

export function encodeSnapshot(meta: SnapshotMeta, vaults: readonly { vault: VaultState; graph: Uint8Array }[]): Uint8Array[] {
  const { record, ...rest } = meta;
  const sections: Section[] = [{ kind: SectionKind.snapshotMeta, payload: encode(record ? { ...rest, logId: record.logId, embedder: record.embedder } : rest) }];
  for (const { vault, graph } of vaults) sections.push(...vaultSections(vault), { kind: SectionKind.graph, payload: graph });
  return encodeSectioned('snapshot', FORMAT_VERSION, sections);
}

export function decodeSnapshot(bytes: Uint8Array, dimension: number): { meta: SnapshotMeta; vaults: { image: VaultImage; graph: Uint8Array }[] } {
  return guarded(FileName.snapshot, () => decodeSnapshotBody(bytes, dimension));
}

function decodeSnapshotBody(bytes: Uint8Array, dimension: number): { meta: SnapshotMeta; vaults: { image: VaultImage; graph: Uint8Array }[] } {
  const file = FileName.snapshot;
  const parsed = decodeSectioned(bytes, 'snapshot', file);
  const [first, ...rest] = parsed.sections;
  if (!first || first.kind !== SectionKind.snapshotMeta) throw new CorruptionError(file, 'missing snapshot meta section');
  let raw: SnapshotMeta & { logId?: unknown; embedder?: unknown };
  try {
    raw = decode(first.payload) as typeof raw;
  } catch (cause) {
    throw new CorruptionError(file, 'snapshot meta does not decode', { cause });
  }
  const ints = [raw?.epoch, raw?.checkpointLsn, raw?.nextVaultNumber, raw?.vaults];
  const order = [...VAULT_SECTION_KINDS, SectionKind.graph];
  const per = order.length;
  if (!ints.every((v) => Number.isSafeInteger(v) && (v as number) >= 0) || rest.length !== raw.vaults * per) {
    throw new CorruptionError(file, 'snapshot meta does not match its sections');
  }
  const meta: SnapshotMeta = { epoch: raw.epoch, checkpointLsn: raw.checkpointLsn, nextVaultNumber: raw.nextVaultNumber, vaults: raw.vaults, record: decodeRootRecord(raw, file) };
  const vaults = [];
  for (let i = 0; i < meta.vaults; i++) {
    const group = rest.slice(i * per, (i + 1) * per);
    if (group.some((s, j) => s.kind !== order[j])) throw new CorruptionError(file, `vault ${i}: sections out of order`);
    vaults.push({ image: decodeVaultImage(group.slice(0, -1).map((s) => s.payload), dimension, file), graph: group.at(-1)!.payload });
  }
  return { meta, vaults };
}
