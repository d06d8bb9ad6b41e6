// Where the prototype finds its addon, its data and the optional peers (usearch is not a
// dependency: install it in a scratch folder and point USEARCH_DIR at it).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const require = createRequire(path.join(HERE, '../../package.json'));
export const DATA = process.env.MMAP_PROTO_DATA ?? '/tmp/mmap-proto/data';
export const addon = (name) => require(path.join(HERE, 'build/Release', `${name}.node`));
export function usearch() {
  try { return require(process.env.USEARCH_DIR ?? 'usearch'); } catch { return null; }
}
