export { open } from './replica/open.js';
export type { OpenOptions, ReplicateOptions } from './replica/open.js';
export type { S3Options } from './object-store/s3-store.js';
export type { ReplicationStats } from './replica/shipper.js';
export type { ReplicaStats } from './replica/follower.js';
export type { Database, DatabaseStatus, BatchOp, CompactResult } from './engine/database.js';
export type { CheckpointResult } from './engine/checkpoint.js';
export type { DatabaseStats, VaultStats, FileStats } from './engine/stats.js';
export type { RecoveryReport, RecoveryPolicy } from './engine/recovery.js';
export type { Vault, VaultInfo, RecordInput, RecordOutput } from './vault/vault.js';
export type { Hit, SearchOptions } from './vault/search.js';
export type { Filter } from './vault/filter.js';
export type { Payload, PayloadValue } from './vault/payload.js';
export type { Quota } from './vault/vault-state.js';
export type { Identity, Metric, IndexConfig, StorageMode } from './format/identity.js';
export type { Durability } from './wal/wal-writer.js';
export type { DroppedSpan, DropReason } from './wal/wal-reader.js';
export type { FileSystem } from './fs/file-system.js';
export type { Embedder, EmbedderManifest } from './embedder/embedder.js';
export {
  QuiverError,
  ConfigError,
  ValidationError,
  StorageError,
  LockedError,
  CorruptionError,
  SchemaError,
  EmbedderDriftError,
  QuotaExceededError,
  NotFoundError,
  ConflictError,
  type ErrorCode,
  type LockHolder,
  type DriftField,
} from './errors.js';
export { checkDatabase, type CheckReport, type CheckProblem } from './engine/check.js';
export { destroy, restore, type MaintenanceOptions } from './engine/maintenance.js';
export type { BackupResult } from './engine/backup.js';
export type { RefreshResult } from './engine/reader.js';
export type { LeaseStatus } from './lock/reader-lease.js';
export { LocalEmbedder } from './embedder/local-embedder.js';
export { TransformersEmbedder, type TransformersOptions } from './embedder/transformers-embedder.js';
export { chunkText, type ChunkOptions } from './embedder/chunker.js';
export { tokenize } from './embedder/tokenize.js';
export type { EmbedderOption } from './embedder/resolve.js';
export type { ChunkInfo, DocumentInfo, DocumentInput, Lineage } from './vault/document.js';
