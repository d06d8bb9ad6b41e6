import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

let root: string | null = null;

/**
 * The folder of the installed quiverdb package (the one holding its package.json), found from
 * this module's own location, so it is the same whether the code runs from src/ (tests, tsx)
 * or from dist/ (the published package) and wherever npm put the package.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    try {
      if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'quiverdb') return (root = dir);
    } catch {
      // no package.json here (or not ours): keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new ConfigError('CONFIG_INVALID', 'package', `no package.json of quiverdb above ${fileURLToPath(import.meta.url)}: the package is incomplete`);
    dir = parent;
  }
}

/**
 * The path of a data file shipped in the package's `data/` folder (package.json "files"):
 * the built-in embedders' word tables, the demo corpus. Built by scripts/, committed, never
 * downloaded at run time.
 */
export function shippedDataPath(name: string): string {
  return path.join(packageRoot(), 'data', name);
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
