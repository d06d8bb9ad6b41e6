import * as fs from 'node:fs';
import * as path from 'node:path';
import { withDb } from './run.js';
import { FileName } from '../format/constants.js';
import type { EmbedderOption, Identity, LocalOpenOptions as OpenOptions } from '../index.js';

export interface InitFlags {
  dim?: number;
  embedder?: string;
  metric: OpenOptions['metric'];
  index: 'hnsw' | 'flat';
  m?: number;
  efConstruction?: number;
  storage: OpenOptions['storage'];
}

/**
 * `quiver init`: creates the database, or opens an existing one (whose identity must agree with
 * the flags given). A failed creation removes what it made: the directory if it did not exist,
 * its contents if it was empty, so a retry starts clean.
 */
export async function initDatabase(dbPath: string, o: InitFlags, embedderOption: (v: string) => EmbedderOption): Promise<{ path: string; created: boolean; identity: Identity }> {
  const dir = path.resolve(dbPath);
  const existed = fs.existsSync(dir);
  const hadDatabase = existed && fs.existsSync(path.join(dir, FileName.identity));
  const wasEmpty = existed && !hadDatabase && fs.statSync(dir).isDirectory() && fs.readdirSync(dir).length === 0;
  const index: OpenOptions['index'] = o.index === 'flat' ? 'flat' : { type: 'hnsw', ...(o.m ? { M: o.m } : {}), ...(o.efConstruction ? { efConstruction: o.efConstruction } : {}) };
  try {
    const identity = await withDb(dir, { ...(o.dim ? { dimension: o.dim } : {}), ...(o.embedder ? { embedder: embedderOption(o.embedder) } : {}), metric: o.metric, index, storage: o.storage }, async (db) => db.identity);
    return { path: dir, created: !hadDatabase, identity };
  } catch (err) {
    if (!existed) fs.rmSync(dir, { recursive: true, force: true });
    else if (wasEmpty) for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    throw err;
  }
}
