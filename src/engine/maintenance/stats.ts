import * as path from 'node:path';
import { ioError, type LockHolder, type QuiverError } from '../../errors.js';
import { nodeFileSystem, readdirSyncIfExists as listing, type FileSystem } from '../../fs/file-system.js';
import { FileName, SEGMENT_FILE_PATTERN } from '../../format/constants.js';
import type { Identity } from '../../format/identity.js';
import type { EmbedderManifest } from '../../embedder/embedder.js';
import type { Quota } from '../../vault/vault-state.js';
import type { Retention } from '../../vault/traces.js';
import type { RecoveryReport } from '../open/replay.js';
import type { ReplicationStatus } from '../open/attachment.js';
import { listLeases, type LeaseStatus } from '../../lock/reader-lease.js';
import { writerStatus } from '../../lock/writer-lock.js';
import type { DatabaseParts } from '../open/parts.js';
import type { DbState } from '../../vault/db-state.js';
import { byCodeUnits } from '../../util/code-units.js';
import { HnswIndex } from '../../vault/index/hnsw-index.js';
import { MappedHnswIndex } from '../../vault/index/mapped-hnsw-index.js';

export interface VaultStats {
  name: string;
  number: number;
  records: number;
  /** Bytes counted against maxBytes: ids, vectors, payloads. */
  bytes: number;
  quota: Quota;
  /** Fraction of each quota in use (null where no quota is set). */
  usage: { records: number | null; bytes: number | null };
  /** Epoch of the vault's last checkpoint files (null before its first checkpoint). */
  segmentEpoch: number | null;
  /** Delta segments on the vault's base segment (FORMAT.md "Delta segments"). */
  deltas: number;
  /**
   * Live labels in the index; for HNSW also graph elements (erased ones included), vectors
   * queued for background insertion, and insertions made since the graph was created or loaded.
   * `mapped`: a reader searching its checkpoint's graph in place, shared with other processes
   * (the native read path; README "Readers share memory"), and `tail` the vectors it holds
   * privately beside that graph (what the log added since). `quantized`: that search runs on the
   * graph's int8 codes and re-ranks by its float32 vectors (FORMAT.md "Graph codes").
   */
  index: { type: string; size: number; elements?: number; queued?: number; insertions?: number; mapped?: boolean; quantized?: boolean; tail?: number };
  layers: number;
  /** Payload indexes: field and distinct values. */
  payloadIndexes: { field: string; values: number }[];
  /** The full-text index: documents, distinct terms, documents tokenised since open. */
  text: { documents: number; terms: number; tokenized: number };
  branches: { name: string; head: string | null }[];
  traces: { count: number; bytes: number; retention: Retention };
}

export interface FileStats {
  identity: number;
  /** TEXT_EMBEDDER.manifest and text_embedder/. */
  embedder: number;
  manifest: number;
  wal: number;
  /** Base segments and their delta segments (FORMAT.md "Delta segments"). */
  segments: number;
  graphs: number;
  /** A quantized database's int8 codes beside its graphs (FORMAT.md "Graph codes"). */
  codes: number;
  snapshot: number;
  other: number;
  total: number;
}

export interface DatabaseStats {
  path: string | null;
  status: string;
  durability: string;
  readOnly: boolean;
  identity: Identity;
  embedder: EmbedderManifest | null;
  epoch: number;
  checkpointLsn: number;
  lastLsn: number;
  wal: { bytes: number | null };
  files: FileStats | null;
  vaults: VaultStats[];
  /** The live writer (this process's lock when it is the writer), or null. */
  writer: LockHolder | null;
  /** Reader leases in readers/, live and stale. */
  readers: LeaseStatus[];
  /**
   * A read-only handle's own lease: `held` false when it could not be written (read-only mount,
   * full filesystem; `reason` is the errno): the reader runs, but stats elsewhere and maintenance
   * cannot see it. Null for a writer or an in-memory database.
   */
  lease: { held: boolean; reason: string | null } | null;
  recovery: RecoveryReport | null;
  backgroundError: { code: string; message: string } | null;
  /** Object-storage shipping (a writer opened with `replicate`) or following (an s3:// replica); null otherwise. */
  replication: ReplicationStatus | null;
}


/** Bytes on disk by file kind (what `quiver stats` prints). A file that is not there counts 0. */
export function fileStats(dir: string, fs: FileSystem = nodeFileSystem): FileStats {
  const out: FileStats = { identity: 0, embedder: 0, manifest: 0, wal: 0, segments: 0, graphs: 0, codes: 0, snapshot: 0, other: 0, total: 0 };
  const size = (rel: string): number => {
    try {
      return fs.statSync(path.join(dir, rel))?.size ?? 0;
    } catch (cause) {
      throw ioError('inspecting', path.join(dir, rel), cause);
    }
  };
  out.identity = size(FileName.identity);
  out.manifest = size(FileName.manifest);
  out.wal = size(FileName.wal);
  out.snapshot = size(FileName.snapshot);
  out.embedder = size(FileName.embedderManifest);
  for (const name of listing(fs, path.join(dir, FileName.textEmbedder))) out.embedder += size(`${FileName.textEmbedder}/${name}`);
  for (const name of listing(fs, path.join(dir, FileName.segments))) {
    const rel = `${FileName.segments}/${name}`;
    const m = SEGMENT_FILE_PATTERN.exec(rel);
    if (m?.[3] === 'segment' || m?.[3] === 'delta') out.segments += size(rel);
    else if (m?.[3] === 'hnsw' || m?.[3] === 'hnsw.meta') out.graphs += size(rel);
    else if (m?.[3] === 'hnsw.q8') out.codes += size(rel);
    else out.other += size(rel);
  }
  out.total = out.identity + out.embedder + out.manifest + out.wal + out.snapshot + out.segments + out.graphs + out.codes + out.other;
  return out;
}

export function collectStats(input: {
  /** The database's filesystem seam (default: the real one). */
  fs?: FileSystem;
  dir: string | null;
  status: string;
  durability: string;
  readOnly: boolean;
  embedder: EmbedderManifest | null;
  state: DbState;
  walBytes: number | null;
  recovery: RecoveryReport | null;
  writer: LockHolder | null;
  readers: LeaseStatus[];
  lease?: { held: boolean; reason: string | null } | null;
  backgroundError: QuiverError | null;
  replication?: ReplicationStatus | undefined;
}): DatabaseStats {
  const { state } = input;
  const vaults = [...state.vaults.values()]
    .sort((a, b) => byCodeUnits(a.name, b.name))
    .map((v): VaultStats => {
      const index = v.index;
      return {
        name: v.name,
        number: v.number,
        records: v.records.count,
        bytes: v.records.bytes,
        quota: { ...v.quota },
        usage: {
          records: v.quota.maxRecords ? v.records.count / v.quota.maxRecords : null,
          bytes: v.quota.maxBytes ? v.records.bytes / v.quota.maxBytes : null,
        },
        segmentEpoch: v.segment?.epoch ?? null,
        deltas: v.segment?.deltas?.length ?? 0,
        index: {
          type: index.type,
          size: index.size,
          ...(index instanceof HnswIndex ? { elements: index.elementCount, queued: index.queued, insertions: index.insertions } : {}),
          ...(index instanceof MappedHnswIndex ? { elements: index.elementCount, queued: index.queued, mapped: true, quantized: index.quantized, tail: index.tailSize } : {}),
        },
        layers: v.layers.count,
        payloadIndexes: [...v.payloadIndexes.values()].map((i) => ({ field: i.field, values: i.values.size })).sort((a, b) => byCodeUnits(a.field, b.field)),
        text: { documents: v.text.documents, terms: v.text.terms, tokenized: v.text.tokenized },
        branches: [...v.layers.branches].map(([name, head]) => ({ name, head })).sort((a, b) => byCodeUnits(a.name, b.name)),
        traces: { count: v.traces.count, bytes: v.traces.bytes, retention: { ...v.traces.retention } },
      };
    });
  return {
    path: input.dir,
    status: input.status,
    durability: input.durability,
    readOnly: input.readOnly,
    identity: { ...state.identity },
    embedder: input.embedder,
    epoch: state.epoch,
    checkpointLsn: state.checkpointLsn,
    lastLsn: state.lastLsn,
    wal: { bytes: input.walBytes },
    files: input.dir ? fileStats(input.dir, input.fs) : null,
    vaults,
    writer: input.writer,
    readers: input.readers,
    lease: input.lease ?? null,
    recovery: input.recovery,
    backgroundError: input.backgroundError ? { code: input.backgroundError.code, message: input.backgroundError.message } : null,
    replication: input.replication ?? null,
  };
}

/** @internal db.stats() of a handle on `parts`: what it holds, and the lock and leases as the directory has them. */
export function databaseStats(parts: DatabaseParts, state: DbState, handle: { status: string; durability: string; replication: ReplicationStatus | undefined; backgroundError: QuiverError | null }): DatabaseStats {
  const { dir, fs, options } = parts;
  return collectStats({
    fs,
    replication: handle.replication,
    dir,
    status: handle.status,
    durability: handle.durability,
    readOnly: options.readOnly,
    embedder: parts.embedder?.manifest ?? null,
    state,
    walBytes: parts.wal?.byteLength ?? null,
    recovery: parts.recovery,
    writer: parts.lock?.holder ?? (dir ? writerStatus(dir, options.lockStaleMs, fs) : null),
    readers: dir ? listLeases(dir, options.lockStaleMs, fs) : [],
    lease: parts.reader?.lease ? { held: parts.reader.lease.held, reason: parts.reader.lease.reason } : null,
    backgroundError: handle.backgroundError,
  });
}
