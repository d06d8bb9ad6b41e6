/**
 * On-disk constants. FORMAT.md is the specification; each constant names its section there.
 * Every number in this file is written to disk: never renumber, never reuse a retired value.
 */

/** FORMAT.md "Versions". The format version this build writes and the oldest it can migrate. */
export const FORMAT_VERSION = 1;
/**
 * FORMAT.md "Segment files": a segment whose vectors live only in its saved graph (GRAPH_VECTORS
 * in VECTORS' place) carries this version in its file header; one with VECTORS carries 1.
 */
export const GRAPH_SEGMENT_VERSION = 2;

/** FORMAT.md "Sectioned files": magic of each file kind (4 ASCII bytes). */
export const Magic = {
  identity: 'QVID',
  manifest: 'QVMF',
  segment: 'QVSG',
  snapshot: 'QVSN',
  wal: 'QVWL',
  embedderManifest: 'QVEM',
  localEmbed: 'QVLE',
  /** A saved graph's sidecar, `.hnsw.meta` (FORMAT.md "Graph sidecar"). */
  graphSidecar: 'QVGM',
  /** A vault's changes since the checkpoint before, `.delta` (FORMAT.md "Delta segments"). */
  delta: 'QVDL',
} as const;
export type MagicKind = keyof typeof Magic;

/** FORMAT.md "Sectioned files": file header = magic(4) + version(4) + section count(4) + crc(4). */
export const FILE_HEADER_SIZE = 4 + 4 + 4 + 4;
/** FORMAT.md "Sectioned files": section header = length(8) + kind(4) + crc(4). */
export const SECTION_HEADER_SIZE = 8 + 4 + 4;
/** Sections start on 8-byte boundaries so vector blocks can be viewed in place. */
export const SECTION_ALIGN = 8;

/** FORMAT.md "Section kinds". Never renumber. */
export const SectionKind = {
  json: 1,
  vaultMeta: 2,
  vectors: 3,
  records: 4,
  graph: 5,
  snapshotMeta: 6,
  /** A vault's layers, in id order (parents first). */
  layers: 7,
  /** A vault's branches and their heads. */
  branches: 8,
  /** A vault's traces in time order, and its retention policy. */
  traces: 9,
  /** A vault's full-text index (BM25 postings). */
  textIndex: 10,
  /** A vault's payload indexes. */
  payloadIndex: 11,
  /** A segment whose vectors live in its graph (version 2): each row's graph element and exact-reconstruction correction. */
  graphVectors: 12,
  /** A delta segment: the labels of the records erased since the file before it. */
  erased: 13,
  /** .localembed: the vocabulary, UTF-8 words separated by '\n', in table order. */
  vocabulary: 16,
  /** .localembed: one float32 weight per word. */
  wordWeights: 17,
  /** .localembed: one float32 scale per word (row i = int8 row i × scale i). */
  rowScales: 18,
  /** .localembed: words × dimension int8 values. */
  int8Vectors: 19,
  /** .hnsw.meta: the graph's size, CRC and shape (64 bytes). */
  graphShape: 20,
  /** .hnsw.meta: a CRC32C per page of the graph. */
  pageSums: 21,
  /** .hnsw.meta: (element id, levels) of each element with upper levels. */
  upperLevels: 22,
} as const;

/**
 * FORMAT.md "wal.log": the log header's own version (not IDENTITY's format version).
 * 1: magic(4) + version(4) + reserved(4) + crc(4), frames' CRCs unseeded (read, never written).
 * 2: magic(4) + version(4) + log id(4) + salt(4) + crc(4), frames' CRCs seeded with the salt.
 * Never renumber.
 */
export const WalVersion = { unsalted: 1, salted: 2 } as const;
export const WAL_VERSION = WalVersion.salted;
export const WAL_V1_HEADER_SIZE = 4 + 4 + 4 + 4;
/** The header this build writes (version 2). */
export const WAL_HEADER_SIZE = 4 + 4 + 4 + 4 + 4;
/** FORMAT.md "wal.log": frame header = length(4) + crc(4) + type(1) + reserved(3) + lsn(8). */
export const FRAME_HEADER_SIZE = 4 + 4 + 1 + 3 + 8;
/** A frame body larger than this is refused when written and read as a bad frame. */
export const MAX_FRAME_BODY = 512 * 1024 * 1024;

/** FORMAT.md "Record types". Never renumber. */
export const RecordType = {
  insert: 1,
  erase: 2,
  /** An insert with its document: text, chunk, embedding lineage. */
  insertEx: 3,
  vaultCreate: 4,
  vaultDrop: 5,
  layerCommit: 6,
  branchSet: 7,
  branchDelete: 8,
  tracePut: 9,
  traceDelete: 10,
  batch: 11,
  layerDrop: 12,
  retentionSet: 13,
  indexCreate: 14,
  indexDrop: 15,
  /** eraseWhere: the ids its filter resolved to (FORMAT.md "Record types"). */
  eraseMany: 16,
  /** patch and patchWhere: the ids, the set and the unset paths. */
  patch: 17,
} as const;
export const RECORD_TYPE_VALUES: ReadonlySet<number> = new Set(Object.values(RecordType));

/** FORMAT.md "Directory": file names inside a database directory. */
export const FileName = {
  lock: 'LOCK',
  readers: 'readers',
  identity: 'IDENTITY',
  embedderManifest: 'TEXT_EMBEDDER.manifest',
  wal: 'wal.log',
  /** Log generations a checkpoint replaced, kept for an external shipper (FORMAT.md "wal.kept/"). */
  walKept: 'wal.kept',
  manifest: 'quiver.manifest',
  segments: 'segments',
  snapshot: 'quiver.snapshot',
  textEmbedder: 'text_embedder',
} as const;

export const TMP_SUFFIX = '.tmp';

/** FORMAT.md "Segment files": `segments/vault_<n>_<epoch>.segment`, `.hnsw` and `.hnsw.meta`. */
export function segmentPath(vaultNumber: number, epoch: number): string {
  return `${FileName.segments}/vault_${vaultNumber}_${epoch}.segment`;
}
export function graphPath(vaultNumber: number, epoch: number): string {
  return `${FileName.segments}/vault_${vaultNumber}_${epoch}.hnsw`;
}
/** FORMAT.md "Graph sidecar": beside the graph it describes, named after it. */
export function sidecarPath(graph: string): string {
  return `${graph}.meta`;
}
/** FORMAT.md "Graph codes": a quantized database's int8 codes of a graph, named after it. */
export function codesPath(graph: string): string {
  return `${graph}.q8`;
}
/** FORMAT.md "Delta segments": a vault's changes at checkpoint `epoch`, beside its base segment. */
export function deltaPath(vaultNumber: number, epoch: number): string {
  return `${FileName.segments}/vault_${vaultNumber}_${epoch}.delta`;
}
/** The epoch in a segment file's name, or -1 for a name that is not one. */
export function segmentEpoch(rel: string): number {
  const match = SEGMENT_FILE_PATTERN.exec(rel);
  return match ? Number(match[2]) : -1;
}
export const SEGMENT_FILE_PATTERN = /^segments\/vault_(\d+)_(\d+)\.(segment|delta|hnsw|hnsw\.meta|hnsw\.q8)$/;
