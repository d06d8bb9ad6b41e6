import type { Database } from '../engine/database.js';
import type { Metric } from '../format/identity.js';
import type { Vault } from '../api/vault.js';
import { HttpError, badRequest } from './http-error.js';
import { route, type RequestContext, type Route } from './router.js';

/** The Qdrant API version this subset follows; Qdrant's clients compare it with their own. */
export const QDRANT_API_VERSION = '1.17.0';

const DISTANCES: Record<Metric, string> = { cosine: 'Cosine', l2: 'Euclid', ip: 'Dot' };

/** The vault behind a collection, or Qdrant's 404. */
export function collection(db: Database, name: string): Vault {
  if (!db.hasVault(name)) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
  return db.vault(name);
}

function vectorParams(db: Database): { size: number; distance: string } {
  const { dimension, metric } = db.identity;
  return { size: dimension, distance: DISTANCES[metric] };
}

function collectionInfo(db: Database, name: string): unknown {
  const vault = collection(db, name);
  const identity = db.identity;
  const points = vault.count();
  const hnsw = identity.index.type === 'hnsw' ? identity.index : null;
  return {
    status: 'green',
    optimizer_status: 'ok',
    indexed_vectors_count: points,
    points_count: points,
    segments_count: 1,
    config: {
      params: { vectors: vectorParams(db), shard_number: 1, replication_factor: 1, write_consistency_factor: 1, on_disk_payload: false },
      hnsw_config: { m: hnsw?.M ?? 0, ef_construct: hnsw?.efConstruction ?? 0, full_scan_threshold: 10_000, on_disk: false },
      optimizer_config: { deleted_threshold: 0.2, vacuum_min_vector_number: 1000, default_segment_number: 0, max_segment_size: null, memmap_threshold: null, indexing_threshold: 0, flush_interval_sec: 5, max_optimization_threads: null },
      wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      quantization_config: null,
    },
    payload_schema: Object.fromEntries(vault.indexes().map((i) => [i.field, { data_type: 'keyword', params: null, points }])),
  };
}

/**
 * Every vault shares the database's IDENTITY, so a collection is created only with that size
 * and distance; anything else is refused rather than silently ignored.
 */
async function createCollection({ db, params, body }: RequestContext): Promise<boolean> {
  const vectors = body.vectors;
  const expected = vectorParams(db);
  if (typeof vectors !== 'object' || vectors === null || Array.isArray(vectors)) throw badRequest('vectors: required, { size, distance }');
  const v = vectors as { size?: unknown; distance?: unknown };
  if (v.size === undefined && v.distance === undefined) throw badRequest('vectors: named vectors are not supported by quiver serve; give { size, distance }');
  if (v.size !== expected.size || v.distance !== expected.distance) {
    throw badRequest(`Wrong input: this database's vectors are size ${expected.size} with distance ${expected.distance} (IDENTITY); got size ${String(v.size)} with distance ${String(v.distance)}`);
  }
  if (body.sparse_vectors !== undefined) throw badRequest('sparse_vectors: not supported by quiver serve');
  if (db.hasVault(params.name!)) throw badRequest(`Wrong input: Collection \`${params.name}\` already exists!`);
  await db.createVault(params.name!);
  return true;
}

async function deleteCollection({ db, params }: RequestContext): Promise<boolean> {
  if (!db.hasVault(params.name!)) return false;
  await db.dropVault(params.name!);
  return true;
}

const update = (): { operation_id: number; status: string } => ({ operation_id: 0, status: 'completed' });

async function createIndex({ db, params, body }: RequestContext): Promise<unknown> {
  if (typeof body.field_name !== 'string') throw badRequest('field_name: must be a string');
  await collection(db, params.name!).createIndex(body.field_name);
  return update();
}

async function deleteIndex({ db, params }: RequestContext): Promise<unknown> {
  await collection(db, params.name!).dropIndex(params.field!);
  return update();
}

export const serviceRoutes: Route[] = [
  route('GET', '/collections', ({ db }) => ({ collections: db.vaults().map((v) => ({ name: v.name })) })),
  route('GET', '/collections/:name', ({ db, params }) => collectionInfo(db, params.name!)),
  route('GET', '/collections/:name/exists', ({ db, params }) => ({ exists: db.hasVault(params.name!) })),
  route('PUT', '/collections/:name', createCollection, true),
  route('DELETE', '/collections/:name', deleteCollection, true),
  route('PUT', '/collections/:name/index', createIndex, true),
  route('DELETE', '/collections/:name/index/:field', deleteIndex, true),
];
