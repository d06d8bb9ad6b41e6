import { createHash } from 'node:crypto';
import type { Database } from '../engine/database.js';
import { open } from '../engine/open-database.js';
import type { OpenOptions } from '../engine/open/options.js';
import { ConfigError, ValidationError } from '../errors.js';
import type { Vault } from '../api/vault.js';

/** Where a framework adapter keeps its documents: a database (given, or opened from a path) and a vault. */
export interface StoreTarget {
  /** An open database; the adapter never closes it. */
  db?: Database;
  /** Or a directory, opened on first use (created with the first vectors' dimension when new). */
  path?: string;
  /** Default 'documents'. Created on first write when missing. */
  vault?: string;
  openOptions?: OpenOptions;
}

/**
 * The shared plumbing of the LangChain and LlamaIndex adapters: one lazily opened database,
 * one vault, and the dimension check that keeps vectors of the wrong size out with a
 * ConfigError naming both sizes.
 */
export class TargetVault {
  private db: Database | null;
  private opening: Promise<Database> | null = null;
  private readonly owned: boolean;
  readonly vaultName: string;

  constructor(private readonly target: StoreTarget) {
    if (typeof target !== 'object' || target === null) throw new ConfigError('CONFIG_INVALID', 'target', 'give { db } or { path }');
    if (!target.db && typeof target.path !== 'string') throw new ConfigError('CONFIG_INVALID', 'path', 'give an open database as db or a directory as path');
    this.db = target.db ?? null;
    this.owned = !target.db;
    this.vaultName = target.vault ?? 'documents';
  }

  /** The database, opened now if need be; `dimension` creates a new one with that size. */
  async database(dimension?: number): Promise<Database> {
    if (this.db) return this.db;
    this.opening ??= open(this.target.path!, { ...(dimension !== undefined ? { dimension } : {}), ...this.target.openOptions }).then((db) => (this.db = db));
    return this.opening;
  }

  /** The vault, after checking `dimension` (when known) against the database's IDENTITY. */
  async vault(options: { dimension?: number; create: boolean }): Promise<Vault | null> {
    // Only a write creates a database; a search on a path with none fails to open instead.
    const db = await this.database(options.create ? options.dimension : undefined);
    if (options.dimension !== undefined) checkDimension(db, options.dimension);
    if (db.hasVault(this.vaultName)) return db.vault(this.vaultName);
    if (!options.create) return null;
    return db.createVault(this.vaultName);
  }

  /** Closes the database when the adapter opened it. */
  async close(): Promise<void> {
    if (this.owned && this.db) await this.db.close();
  }
}

export function checkDimension(db: Database, dimension: number): void {
  const stored = db.identity.dimension;
  if (dimension !== stored) {
    throw new ConfigError('CONFIG_MISMATCH', 'dimension', `the embeddings give ${dimension}-dimensional vectors but the database stores ${stored} (IDENTITY); use the embedder the database was built with`);
  }
}

/** Every vector the same length, known before anything is written. */
export function dimensionOf(vectors: readonly (readonly number[] | Float32Array)[]): number | undefined {
  const first = vectors[0]?.length;
  vectors.forEach((v, i) => {
    if (v.length !== first) throw new ConfigError('CONFIG_MISMATCH', 'dimension', `vectors[${i}] has ${v.length} values, vectors[0] has ${first}`);
  });
  return first;
}

/** A stable id for a document without one: the same text and metadata give the same id. */
export function contentId(text: string, metadata: unknown): string {
  return createHash('sha256').update(text).update('\0').update(JSON.stringify(metadata ?? {})).digest('hex').slice(0, 32);
}

export function checkIds(ids: unknown, count: number): string[] | undefined {
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids) || ids.length !== count) throw new ValidationError('ids', `must be an array of ${count} ids, one per document`);
  return ids as string[];
}
