export { open } from './replica/open.js';
export type { OpenOptions, ReplicateOptions } from './replica/open.js';
/** The options of a local open (OpenOptions without object storage), as import and the integrations take them. */
export type { OpenOptions as LocalOpenOptions } from './engine/open/options.js';
export type { S3Credentials, S3Options } from './object-store/s3-store.js';
export type { Database } from './engine/database.js';
export type { DatabaseStatus } from './engine/status.js';
export type { BatchOp } from './engine/ops/batch.js';
export type { CompactResult } from './engine/maintenance/compact.js';
export type { CheckpointResult } from './engine/maintenance/checkpoint.js';
export type { DatabaseStats, VaultStats, FileStats } from './engine/maintenance/stats.js';
export type { ReplicationStatus, ReplicationStats, ReplicaStats } from './engine/open/attachment.js';
export type { RecoveryReport, RecoveryPolicy } from './engine/open/replay.js';
export type { Vault, AddDocumentsOptions, VaultInfo, RecordInput, RecordOutput, ScanOptions, ScanPage, ScannedRecord, RecordsOptions, PatchSpec, EraseWhereOptions } from './api/vault.js';
export type { SearchKnobs, HitExtras } from './vault/search-options.js';
export type { RecordBatchOp } from './engine/ops/record-ops.js';
export type { Hit, SearchOptions, SearchMode } from './vault/search.js';
export type { Bm25Params } from './text/text-index.js';
export type { Filter } from './vault/filter.js';
export type { Payload, PayloadValue } from './vault/payload.js';
export type { Quota } from './vault/vault-state.js';
export type { Identity, Metric, IndexConfig, Quantization, StorageMode } from './format/identity.js';
export type { Durability } from './wal/wal-writer.js';
export type { DroppedSpan, DropReason } from './wal/wal-reader.js';
export type { FileStat, FileSystem } from './fs/file-system.js';
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
  type QuiverErrorOptions,
  type LockHolder,
  type DriftField,
} from './errors.js';
export { checkDatabase, type CheckReport, type CheckProblem } from './engine/maintenance/check.js';
export { destroy, restore, type MaintenanceOptions } from './engine/maintenance/offline.js';
export { importDatabase, type ImportDatabaseOptions, type ImportDatabaseResult } from './engine/import-database.js';
export { backup, type BackupResult } from './engine/maintenance/backup.js';
export type { RefreshResult } from './engine/open/reader.js';
export type { Layers, Branches, Traces, LayerView, LayerSummary, Change, TraceEntry } from './api/history-api.js';
export type { CommitInput, TraceOptions } from './engine/ops/history-ops.js';
export type { Retention } from './vault/traces.js';
export type { ResourceValue } from './vault/layers.js';
export type { ReembedResult } from './engine/maintenance/reembed.js';
export type { ExportSummary } from './engine/interchange/export.js';
export type { LeaseStatus, LeaseInfo } from './lock/reader-lease.js';
export { LocalEmbedder, type LocalModel } from './embedder/local-embedder.js';
export type { FusionRule } from './vault/fusion.js';
export type { VerifyMode } from './engine/open/vector-check.js';
export { TransformersEmbedder, type TransformersOptions } from './embedder/transformers-embedder.js';
export { chunkText, type ChunkOptions } from './vault/chunker.js';
export { tokenize } from './embedder/tokenize.js';
export type { EmbedderOption } from './embedder/resolve.js';
export type { ChunkInfo, DocumentInfo, DocumentInput, Lineage } from './vault/document.js';
export type { EmbeddedDocumentInput, EmbeddingSource } from './vault/document.js';
