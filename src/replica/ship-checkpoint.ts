import * as path from 'node:path';
import { ConflictError } from '../errors.js';
import { FileName } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import type { FileSystem } from '../fs/file-system.js';
import { PreconditionFailed, type ObjectStore } from '../object-store/store.js';
import { decodeEmbedderManifest } from '../embedder/manifest-file.js';
import { decodeManifest, vaultFiles } from '../segments/manifest.js';
import { checkpointKey, fileKey, segmentKey, type Root, type ShippedFile } from './layout.js';
import { identityFiles } from './local-files.js';

/** What a root names for one shipped checkpoint (FORMAT.md "Object storage: shipping", step 2). */
export interface ShippedCheckpoint {
  lsn: number;
  files: ShippedFile[];
  checkpoint: Root['checkpoint'];
}

/**
 * Uploads objects named by their content, each once per shipping session: a key already
 * uploaded (or already in the store, PUT If-None-Match: * answering 412) is not sent again.
 */
export class Uploads {
  private readonly known = new Set<string>();

  constructor(private readonly store: ObjectStore) {}

  has(key: string): boolean {
    return this.known.has(key);
  }

  async upload(local: string, key: string, data: Buffer): Promise<ShippedFile> {
    const entry = { path: local, key, bytes: data.byteLength, crc32c: crc32c(data) };
    if (this.known.has(key)) return entry;
    try {
      await this.store.put(key, data, { ifAbsent: true });
    } catch (err) {
      // Named by content: an object already there under this name holds these bytes.
      if (!(err instanceof PreconditionFailed)) throw err;
    }
    this.known.add(key);
    return entry;
  }
}

/**
 * Ships the checkpoint `bytes` (quiver.manifest as read) describes: the identity files, each
 * segment and graph it names (unless shipped), then the manifest copy under checkpoints/.
 * Nothing here names them yet: the caller's root write does, after every upload succeeded.
 */
export async function shipCheckpointFiles(fs: FileSystem, dir: string, uploads: Uploads, bytes: Buffer | null): Promise<ShippedCheckpoint> {
  const manifest = bytes ? decodeManifest(bytes) : null;
  const local = await identityFiles(fs, dir);
  // The manifest records the embedder beside it: a replica or restore that took these files with
  // this manifest must find that embedder. Read between a re-embed's renames, they disagree:
  // this round fails (nothing named yet) and the next ships the checkpoint, once the switch is done.
  const embedderFile = local.find((f) => f.path === FileName.embedderManifest);
  const recorded = manifest?.record?.embedder ?? null;
  if (recorded !== null && (!embedderFile || decodeEmbedderManifest(embedderFile.bytes).fingerprint !== recorded)) {
    throw new ConflictError('CONFLICT', `${FileName.embedderManifest} is not the embedder ${FileName.manifest} records (a re-embed is switching files): shipping the checkpoint next round`);
  }
  const files: ShippedFile[] = [];
  for (const f of local) files.push(await uploads.upload(f.path, fileKey(f.path, crc32c(f.bytes)), f.bytes));
  const segments: ShippedFile[] = [];
  for (const v of manifest?.vaults ?? []) {
    for (const ref of vaultFiles(v)) {
      const key = segmentKey(ref.path, ref.crc32c);
      if (uploads.has(key)) {
        segments.push({ path: ref.path, key, bytes: ref.bytes, crc32c: ref.crc32c });
        continue;
      }
      // A newer checkpoint may have removed it already: this round fails and the next ships that one.
      const data = await fs.readFile(path.join(dir, ref.path));
      segments.push(await uploads.upload(ref.path, key, data));
    }
  }
  const lsn = manifest?.checkpointLsn ?? 0;
  if (!bytes || !manifest) return { lsn, files, checkpoint: null };
  const crc = crc32c(bytes);
  const key = checkpointKey(lsn, manifest.epoch, crc);
  await uploads.upload(FileName.manifest, key, bytes);
  return { lsn, files, checkpoint: { key, epoch: manifest.epoch, lsn, bytes: bytes.byteLength, crc32c: crc, segments } };
}
