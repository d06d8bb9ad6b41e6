import { CorruptionError } from '../errors.js';
import { FORMAT_VERSION, FileName, SEGMENT_FILE_PATTERN, SectionKind, codesPath, sidecarPath } from '../format/constants.js';
import { decodeSectioned, encodeSectioned, requireSection } from '../format/sectioned-file.js';
import { guarded, jsonObject } from '../format/decode-guard.js';
import type { FileRef } from '../vault/vault-state.js';
import { decodeRootRecord, type RootRecord } from '../format/root-record.js';

/**
 * FORMAT.md "quiver.manifest": the root of segmented mode. It names, for each vault, the
 * segment and graph files of its last checkpoint, with their sizes and CRC32Cs.
 */
export interface ManifestVault {
  number: number;
  name: string;
  epoch: number;
  segment: FileRef;
  graph: FileRef | null;
  /** The graph's sidecar (FORMAT.md "Graph sidecar"); absent in a manifest written before it. */
  sidecar?: FileRef | null;
  /** The graph's int8 codes (FORMAT.md "Graph codes"), when the database is quantized; absent otherwise. */
  codes?: FileRef | null;
  /** Delta segments on top of `segment`, oldest first (FORMAT.md "Delta segments"); absent when none. */
  deltas?: FileRef[];
}

/** Every file a vault entry names: what backups copy, replicas ship and checkpoints keep. */
export function vaultFiles(v: { segment: FileRef; deltas?: readonly FileRef[]; graph: FileRef | null; sidecar?: FileRef | null; codes?: FileRef | null }): FileRef[] {
  return [v.segment, ...(v.deltas ?? []), ...(v.graph ? [v.graph] : []), ...(v.sidecar ? [v.sidecar] : []), ...(v.codes ? [v.codes] : [])];
}

export interface Manifest {
  epoch: number;
  checkpointLsn: number;
  nextVaultNumber: number;
  vaults: ManifestVault[];
  /** What must exist beside the manifest (FORMAT.md "What the root records"); null in an older manifest. */
  record: RootRecord | null;
}

/**
 * A vault entry as the manifest's JSON holds it: with deltas, the base segment is named `base`,
 * not `segment` (FORMAT.md "quiver.manifest"), so that a build before delta segments, which would
 * read the base alone and lose what the deltas hold, refuses the manifest instead.
 */
function entryJson(v: ManifestVault): object {
  if (!v.deltas?.length) return v;
  const { number, name, epoch, segment, deltas, ...rest } = v;
  return { number, name, epoch, base: segment, deltas, ...rest };
}

export function encodeManifest(manifest: Manifest): Uint8Array[] {
  const { record, ...rest } = { ...manifest, vaults: manifest.vaults.map(entryJson) as ManifestVault[] };
  const json = record ? { epoch: rest.epoch, checkpointLsn: rest.checkpointLsn, logId: record.logId, embedder: record.embedder, nextVaultNumber: rest.nextVaultNumber, vaults: rest.vaults } : rest;
  const body = Buffer.from(JSON.stringify(json, null, 2) + '\n', 'utf8');
  return encodeSectioned('manifest', FORMAT_VERSION, [{ kind: SectionKind.json, payload: body }]);
}

export function decodeManifest(bytes: Uint8Array): Manifest {
  return guarded(FileName.manifest, () => decodeManifestBody(bytes));
}

function decodeManifestBody(bytes: Uint8Array): Manifest {
  const file = FileName.manifest;
  const parsed = decodeSectioned(bytes, 'manifest', file);
  const fail = (why: string): never => {
    throw new CorruptionError(file, why);
  };
  if (parsed.version !== FORMAT_VERSION) fail(`version ${parsed.version} differs from IDENTITY's ${FORMAT_VERSION}`);
  const m = jsonObject(requireSection(parsed, SectionKind.json, file, 'JSON'), file) as unknown as Manifest & { logId?: unknown; embedder?: unknown };
  const int = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
  if (typeof m !== 'object' || m === null || !int(m.epoch) || !int(m.checkpointLsn) || !int(m.nextVaultNumber) || !Array.isArray(m.vaults)) fail('header fields are invalid');
  const record = decodeRootRecord(m, file);
  const seen = new Set<number>();
  for (const v of m.vaults) {
    if (typeof v !== 'object' || v === null) fail('a vault entry is not an object');
    if (!int(v.number) || typeof v.name !== 'string' || !int(v.epoch) || seen.has(v.number)) fail('a vault entry is invalid');
    seen.add(v.number);
    // An entry with deltas names its base segment `base` (entryJson), and only such an entry does.
    const entry = v as ManifestVault & { base?: FileRef };
    if ((entry.base !== undefined) !== (v.deltas !== undefined) || (entry.base !== undefined && v.segment !== undefined)) fail('a vault entry names a base segment without deltas, or deltas without one');
    if (entry.base !== undefined) {
      v.segment = entry.base;
      delete entry.base;
    }
    checkRef(v.segment, 'segment', fail);
    if (v.deltas !== undefined) {
      if (!Array.isArray(v.deltas) || v.deltas.length === 0) fail('a vault entry\'s deltas are not a non-empty list');
      for (const delta of v.deltas) checkRef(delta, 'delta', fail);
      // Each delta's vectors are rows of the graph: a delta segment always has one beside it.
      if (v.graph === null || !v.sidecar) fail(`deltas of ${v.segment.path} have no graph and sidecar beside them`);
    }
    if (v.graph !== null) checkRef(v.graph, 'hnsw', fail);
    if (v.sidecar !== undefined && v.sidecar !== null) {
      checkRef(v.sidecar, 'hnsw.meta', fail);
      if (v.graph === null || v.sidecar.path !== sidecarPath(v.graph.path)) fail(`sidecar ${v.sidecar.path} is not its graph's`);
    }
    if (v.codes !== undefined && v.codes !== null) {
      checkRef(v.codes, 'hnsw.q8', fail);
      if (v.graph === null || !v.sidecar || v.codes.path !== codesPath(v.graph.path)) fail(`codes ${v.codes.path} are not its graph's`);
    }
  }
  return { epoch: m.epoch, checkpointLsn: m.checkpointLsn, nextVaultNumber: m.nextVaultNumber, vaults: m.vaults, record };
}

/** A path read from the manifest must name a segment file inside segments/: anything else is corruption. */
function checkRef(ref: FileRef | undefined, ext: string, fail: (why: string) => never): void {
  if (typeof ref !== 'object' || ref === null) fail(`a ${ext} file reference is not an object`);
  const match = typeof ref?.path === 'string' ? SEGMENT_FILE_PATTERN.exec(ref.path) : null;
  if (!ref || !match || match[3] !== ext) fail(`file reference ${JSON.stringify(ref?.path)} is not a ${ext} file inside segments/`);
  if (!Number.isSafeInteger(ref!.bytes) || !Number.isSafeInteger(ref!.crc32c)) fail(`file reference ${ref!.path} lacks size or checksum`);
}
