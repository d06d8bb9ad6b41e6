import * as fs from 'node:fs';
import { ConfigError } from '../errors.js';
import { shippedDataPath } from '../util/package-files.js';
import { decodeLocalEmbed } from './localembed-file.js';

const memo = new Map<string, Uint8Array>();

/**
 * The bytes of a built-in embedder's table as shipped in the package (`data/<name>`, written
 * by `npm run build:embedder-table`), read once per process and checked by its CRCs. These
 * bytes are what a new database stores as its artifact, and their hash is the embedder's
 * fingerprint, so they must never change for a released model: a new table is a new model name.
 */
export function shippedTable(name: string): Uint8Array {
  const cached = memo.get(name);
  if (cached) return cached;
  const file = shippedDataPath(name);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (cause) {
    throw new ConfigError('CONFIG_INVALID', 'embedder', `the built-in embedder's table ${file} is missing from the quiverdb package (a repository clone builds it with npm run build:embedder-table)`, { cause });
  }
  decodeLocalEmbed(bytes, file);
  memo.set(name, bytes);
  return bytes;
}

/** default_v1: GloVe 6B 100d, 50,000 words (README "Text: embedders and documents", FORMAT.md ".localembed"). */
export const DEFAULT_V1_TABLE = 'default_v1.localembed';

export function defaultArtifact(): Uint8Array {
  return shippedTable(DEFAULT_V1_TABLE);
}
