import * as path from 'node:path';
import { CorruptionError } from '../errors.js';
import { FileName, SEGMENT_FILE_PATTERN } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import { readIfExists, type FileSystem } from '../fs/file-system.js';

/** IDENTITY and the embedder's files: what a database directory holds besides checkpoint and log. */
export async function identityFiles(fs: FileSystem, dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const name of [FileName.identity, FileName.embedderManifest]) {
    const bytes = await readIfExists(fs, path.join(dir, name), name);
    if (bytes) out.push({ path: name, bytes });
  }
  const names = await fs.readdir(path.join(dir, FileName.textEmbedder)).catch(() => [] as string[]);
  for (const name of names.sort()) {
    if (name.endsWith('.tmp')) continue;
    const rel = `${FileName.textEmbedder}/${name}`;
    const bytes = await readIfExists(fs, path.join(dir, rel), rel);
    if (bytes) out.push({ path: rel, bytes });
  }
  return out;
}

/** A path from the root that will be written under a local directory must be one of ours. */
export function checkLocalPath(rel: string, object: string): string {
  const ok = rel === FileName.identity || rel === FileName.embedderManifest || /^text_embedder\/[A-Za-z0-9._-]+$/.test(rel) || SEGMENT_FILE_PATTERN.test(rel);
  if (!ok) throw new CorruptionError(object, `names a local path ${JSON.stringify(rel)} outside the database's files`);
  return rel;
}

/** Checks downloaded bytes against the size and CRC32C the root or manifest gave for them. */
export function verifyBytes(bytes: Buffer, expected: { bytes: number; crc32c: number }, object: string): Buffer {
  if (bytes.byteLength !== expected.bytes) throw new CorruptionError(object, `is ${bytes.byteLength} bytes, the manifest says ${expected.bytes}`);
  if (crc32c(bytes) >>> 0 !== expected.crc32c >>> 0) throw new CorruptionError(object, 'checksum mismatch against the manifest');
  return bytes;
}
