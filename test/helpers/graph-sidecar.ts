import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeManifest, encodeManifest } from '../../src/segments/manifest.js';
import { withVectorSections } from './vector-sections.js';

/**
 * Turns a database into one saved before graph sidecars (FORMAT.md "Graph sidecar"): the
 * manifest names no sidecar and none is on disk, and its segments hold VECTORS, as a checkpoint
 * of an older build left it.
 */
export function withoutSidecars(dir: string): void {
  withVectorSections(dir);
  const file = path.join(dir, 'quiver.manifest');
  const manifest = decodeManifest(fs.readFileSync(file));
  for (const v of manifest.vaults) {
    if (v.sidecar) fs.unlinkSync(path.join(dir, v.sidecar.path));
    delete v.sidecar;
  }
  fs.writeFileSync(file, Buffer.concat(encodeManifest(manifest)));
}

/** The sidecar files on disk beside the graphs. */
export function sidecarFiles(dir: string): string[] {
  const segments = path.join(dir, 'segments');
  return fs.readdirSync(segments).filter((f) => f.endsWith('.hnsw.meta')).map((f) => path.join(segments, f));
}
