import type { IndexConfig, Metric } from '../format/identity.js';
import { FlatIndex } from './index/flat-index.js';
import { HnswIndex } from './index/hnsw-index.js';
import type { VectorIndex } from './index/vector-index.js';
import { RecordStore } from './record-store.js';
import type { VaultInfo } from './record-types.js';
import { LayerStore } from './layers.js';
import { TraceStore } from './traces.js';
import { TextIndex } from '../text/text-index.js';
import { PayloadIndex } from './payload-index.js';
import type { StoredVectors } from './stored-vectors.js';
import type { Quota } from '../format/quota.js';
import type { ScanSet } from './row-scan.js';

export type { Quota };

/** Where a vault's last checkpoint put it (an entry of quiver.manifest). */
export interface FileRef {
  path: string;
  bytes: number;
  crc32c: number;
}

export interface SegmentRef {
  epoch: number;
  segment: FileRef;
  graph: FileRef | null;
  /** The graph's sidecar (FORMAT.md "Graph sidecar"); absent for a graph saved before sidecars. */
  sidecar?: FileRef | null;
  /** The graph's int8 codes (FORMAT.md "Graph codes"), in a quantized database. */
  codes?: FileRef | null;
  /** Delta segments on top of `segment`, oldest first (FORMAT.md "Delta segments"); absent or empty when none. */
  deltas?: FileRef[];
}

/**
 * What a checkpoint needs to know of a vault's files to add a delta segment instead of writing
 * the vault whole (engine/maintenance/checkpoint.ts): null when the next must be whole.
 */
export interface DeltaBase {
  /** Rows of the base segment, and rows plus erasures in its deltas so far. */
  baseRows: number;
  deltaRows: number;
  /** The LSN the saved graph the manifest names covers, and the records and erasures its deltas hold since (which no saved graph reflects). */
  graphLsn: number;
  sinceGraph: number;
  /**
   * The base's payload index fields (indexFields()): a delta cannot carry an index the base lacks
   * (it would be rebuilt from every record at each open), so a vault whose fields changed is written whole.
   */
  indexes: string;
}

/** Payload index fields, sorted, as one string (DeltaBase.indexes): a vault's (its payloadIndexes' keys) or a segment's. */
export function indexFields(fields: Iterable<string>): string {
  return JSON.stringify([...fields].sort());
}

/** The in-memory state of one vault: records (authoritative) and the index derived from them. */
export class VaultState {
  /** Replaced wholesale by compaction, which renumbers labels. */
  records: RecordStore;
  /** Carried over to a rebuilt vault by re-embedding. */
  layers = new LayerStore();
  traces = new TraceStore();
  /** Full-text index over document text, keyed by record id. */
  text = new TextIndex();
  /** Payload indexes by field (labels, so compaction rebuilds them). */
  payloadIndexes = new Map<string, PayloadIndex>();
  /**
   * Bumped by every change that can alter which labels a filter matches (records and payload
   * indexes); the filter planner caches candidate bitmaps against it.
   */
  version = 0;
  readonly filterCache = new Map<string, { version: number; bitmap: Uint8Array; count: number; scan: ScanSet | null }>();

  /** Rebuilds every payload index from the records (after labels change). */
  reindexPayloads(): void {
    this.version++;
    for (const field of [...this.payloadIndexes.keys()]) {
      const index = new PayloadIndex(field);
      for (const r of this.records.values()) index.add(r.label, r.payload);
      this.payloadIndexes.set(field, index);
    }
  }
  /** LSN of the last operation that changed this vault. */
  lsn: number;
  /** The files of its last checkpoint; null until it has one. */
  segment: SegmentRef | null = null;
  /** LSN covered by `segment` (a vault is rewritten at checkpoint only when lsn > segmentLsn). */
  segmentLsn = -1;
  /**
   * Set when `segment`'s base keeps its vectors in its graph (version 2), so that the next
   * checkpoint may write only what changed since (a delta segment); null after a compaction
   * renumbered the labels, or for a base with VECTORS: the next checkpoint writes the vault whole.
   */
  deltaBase: DeltaBase | null = null;
  /**
   * The vectors of the records loaded from `segment`, which reach memory in the background after
   * open (null: none). Code that reads many stored vectors awaits vectorsLoaded() first; a lone
   * read before then (get) reads the block at once.
   */
  stored: StoredVectors | null = null;

  vectorsLoaded(): Promise<unknown> {
    return this.stored?.load() ?? Promise.resolve();
  }

  /**
   * Before a search reads many stored vectors: vectorsLoaded(), except where every read checks
   * its own bytes first (StoredVectors.checksEachRead: a mapped graph's pages), which are then
   * read in place without waiting for the check of them all.
   */
  vectorsReadable(): Promise<unknown> {
    return this.stored?.checksEachRead ? Promise.resolve() : this.vectorsLoaded();
  }

  /** Searches and exports running over this vault (a reader's refresh unmaps a replaced vault only once none is). */
  private holds = 0;
  private retired = false;

  /**
   * Vectors the records read before a writer's checkpoint rebased them (rebase-records.ts), each
   * with the generation of holds that may still read it: closed once those holds have ended, however
   * many later ones (which read the new records) are running.
   */
  private replaced: { stored: StoredVectors; generation: number }[] = [];
  private generation = 0;
  /** Holds running, by the generation current when each began. */
  private readonly holdsOf = new Map<number, number>();

  /** Runs `work` with the vault held: retire() waits for it before unmapping. */
  async held<T>(work: () => Promise<T>): Promise<T> {
    this.holds++;
    const generation = this.generation;
    this.holdsOf.set(generation, (this.holdsOf.get(generation) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = this.holdsOf.get(generation)! - 1;
      if (left === 0) this.holdsOf.delete(generation);
      else this.holdsOf.set(generation, left);
      if (--this.holds === 0 && this.retired) this.unmap();
      else this.closeReplaced();
    }
  }

  /**
   * `stored` is no longer the vault's (its records now read another block): closed at once if no
   * search or export holds the vault, else when the last one begun before now ends.
   */
  retireStored(stored: StoredVectors): void {
    this.replaced.push({ stored, generation: this.generation++ });
    this.closeReplaced();
  }

  get isRetired(): boolean {
    return this.retired;
  }

  private closeReplaced(): void {
    if (this.replaced.length === 0) return;
    const oldest = this.holdsOf.size === 0 ? Infinity : Math.min(...this.holdsOf.keys());
    this.replaced = this.replaced.filter(({ stored, generation }) => {
      if (generation >= oldest) return true;
      stored.close();
      return false;
    });
  }

  /**
   * A reader's refresh replaced this vault by a newer checkpoint's (or it was dropped): its mapped
   * graph and vectors are unmapped as soon as nothing holds it, not whenever garbage collection
   * gets to them (the files may be unlinked already, their pages held by the map alone).
   */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.holds === 0) this.unmap();
  }

  /** Gives back the mapped graph and vectors now (through retire(), which db.close() and a refresh call). */
  private unmap(): void {
    this.index.close?.();
    this.stored?.close();
    for (const { stored } of this.replaced.splice(0)) stored.close();
  }

  constructor(
    readonly number: number,
    readonly name: string,
    public quota: Quota,
    readonly dimension: number,
    public index: VectorIndex,
    lsn: number,
  ) {
    this.records = new RecordStore(dimension);
    this.lsn = lsn;
  }

  /** What `vault.info()` and `db.vaults()` report. */
  info(): VaultInfo {
    return { name: this.name, number: this.number, records: this.records.count, bytes: this.records.bytes, quota: { ...this.quota } };
  }

  get dirty(): boolean {
    return this.segment === null || this.lsn > this.segmentLsn;
  }
}

export function createIndex(config: IndexConfig, metric: Metric, dimension: number): VectorIndex {
  return config.type === 'hnsw' ? HnswIndex.create(metric, dimension, config) : new FlatIndex(metric);
}
