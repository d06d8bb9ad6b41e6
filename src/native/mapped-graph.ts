import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, CorruptionError, StorageError, ioError } from '../errors.js';
import type { Metric } from '../format/identity.js';

/**
 * The native read path (native/qmap.c, built at install by native/build.mjs): a graph file saved
 * by hnswlib-node, memory-mapped read-only and searched in place, so every reader process on the
 * machine shares one copy of it in the page cache (docs/design/shared-memory-readers.md).
 *
 * The addon is optional. It is loaded on the first read-only open that asks for it, never at
 * import; when it is not built (no compiler at install, Windows) or QUIVER_NATIVE=0, nativeGraphs()
 * says so and readers use hnswlib-node's readIndex, a private copy, with the same answers.
 */

interface Addon {
  open(file: string, dimension: number, metric: number): unknown;
  openPaged(file: string | ArrayBuffer, dimension: number, metric: number, shape: Uint8Array, sums: Uint8Array, upper: Uint8Array): unknown;
  search(handle: unknown, query: Float32Array, k: number, ef: number, live: Uint8Array | null, allow: Uint8Array | null, accept: ((label: number) => boolean) | null, labels: Uint32Array, distances: Float32Array): number;
  info(handle: unknown): { count: number; maxElements: number; deleted: number; bytes: number };
  close(handle: unknown): void;
  checkPages(handle: unknown, from: number, to: number): void;
  attachCodes(handle: unknown, codes: ArrayBuffer, graphCrc: number, graphFile: string): void;
}

/** A graph's sidecar sections as stored (FORMAT.md "Graph sidecar"; segments/graph-sidecar.ts reads them). */
export interface PageSums {
  shape: Uint8Array;
  sums: Uint8Array;
  upper: Uint8Array;
}

const METRIC_CODE: Record<Metric, number> = { l2: 0, ip: 1, cosine: 2 };
const ADDON = path.join('native', 'build', 'Release', 'qmap.node');

let addon: Addon | null | undefined;

/** Where the built addon is: the package root is above src/native/ (tsx) or dist/chunks/ (the bundle). */
function findAddon(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    const file = path.join(dir, ADDON);
    if (fs.existsSync(file)) return file;
    dir = path.dirname(dir);
  }
  return null;
}

/** Whether read-only opens map their graphs: the addon is built and QUIVER_NATIVE is not 0. */
export function nativeGraphs(): boolean {
  if (process.env.QUIVER_NATIVE === '0') return false;
  if (addon === undefined) {
    addon = null;
    const file = findAddon();
    if (file) {
      try {
        addon = createRequire(import.meta.url)(file) as Addon;
      } catch {
        // A build for another Node or platform: readers keep hnswlib-node's path.
        addon = null;
      }
    }
  }
  return addon !== null;
}

/** The loaded addon, for the other modules of src/native (null: not built, or QUIVER_NATIVE=0). */
export function nativeAddon(): unknown {
  return nativeGraphs() ? addon : null;
}

/** A file map (mapped-file.ts MappedFile) a graph may search in place of a map of its own. */
export interface BorrowedMap {
  readonly buffer: ArrayBuffer;
  /** One more holder; each close()s it once. */
  retain(): BorrowedMap;
  close(): void;
}

export interface MappedNeighbor {
  label: number;
  distance: number;
}

/**
 * One mapped graph file. Searches are synchronous (the addon works on the mapped bytes, nothing
 * to wait for) and give hnswlib-node's answer for the same file and query, in its order.
 */
export class MappedGraph {
  /** Elements in the file, deleted ones included, and hnswlib's capacity (k may not exceed it). */
  readonly count: number;
  readonly maxElements: number;
  /** Elements the file marks deleted. */
  readonly deleted: number;
  private closed = false;
  /** Inside search(): a close() from a filter callback unmaps a borrowed map only once the search has returned. */
  private searching = false;
  /** The graph's int8 codes (FORMAT.md "Graph codes"), searched in place of its vectors once attached. */
  private codes: BorrowedMap | null = null;
  private codesName: string | null = null;
  private labels = new Uint32Array(16);
  private distances = new Float32Array(16);

  private constructor(
    private readonly lib: Addon,
    private readonly handle: unknown,
    /** The file's name inside the database, for errors. */
    readonly name: string,
    /** The mapFile map the graph searches in place of one of its own (one mapping for search and vectors), closed after the graph. */
    private readonly map: BorrowedMap | null = null,
  ) {
    const info = lib.info(handle);
    this.count = info.count;
    this.maxElements = info.maxElements;
    this.deleted = info.deleted;
  }

  /**
   * Maps `file`; a file that is not a sound graph of this dimension is a CorruptionError naming
   * `name`. Without `sidecar` the caller has checked the whole file; with it, the header and
   * upper-level pages are checked now and every other page on its first use by a search, which
   * then fails with CorruptionError on a mismatch, as does every later search.
   */
  static open(file: string, name: string, metric: Metric, dimension: number, sidecar?: PageSums, map?: BorrowedMap | null): MappedGraph {
    if (!nativeGraphs()) throw new ConfigError('CONFIG_INVALID', 'QUIVER_NATIVE', 'the native graph search is not built (npm run build:native) or QUIVER_NATIVE=0 turned it off');
    const lib = addon!;
    try {
      // `map` (the graph mapped by mapFile, with a sidecar): searched where it lies; the graph holds it until close.
      const handle = sidecar ? lib.openPaged(map ? map.buffer : file, dimension, METRIC_CODE[metric], sidecar.shape, sidecar.sums, sidecar.upper) : lib.open(file, dimension, METRIC_CODE[metric]);
      return new MappedGraph(lib, handle, name, sidecar ? (map?.retain() ?? null) : null);
    } catch (err) {
      throw translate(err, name, 'mapping');
    }
  }

  /**
   * The k nearest, searching `ef` wide. `live` and `allow` are bitmaps by label (1: may be
   * returned); `accept` a predicate; any of them absent allows all. Nodes they exclude, like
   * nodes the file marks deleted, are still walked through.
   */
  search(query: Float32Array, k: number, ef: number, live: Uint8Array | null, allow: Uint8Array | null, accept: ((label: number) => boolean) | null): MappedNeighbor[] {
    if (this.labels.length < k) {
      this.labels = new Uint32Array(k);
      this.distances = new Float32Array(k);
    }
    // A search that began before its database closed (it awaited an embedding) and reaches the
    // graph after: refused like any call on a closed database.
    if (this.closed) throw new StorageError('DATABASE_CLOSED', 'the database is closed');
    let n: number;
    this.searching = true;
    try {
      n = this.lib.search(this.handle, query, k, ef, live, allow, accept, this.labels, this.distances);
    } catch (err) {
      // What the codes hold wrong (their pages, links, labels) names the codes file: native/codes.c says "codes ...".
      const codes = this.codesName !== null && err instanceof Error && err.message.startsWith('codes');
      throw translate(err, codes ? this.codesName! : this.name, 'searching');
    } finally {
      this.searching = false;
      if (this.closed) this.releaseMaps();
    }
    const out = new Array<MappedNeighbor>(n);
    for (let i = 0; i < n; i++) out[i] = { label: this.labels[i]!, distance: this.distances[i]! };
    return out;
  }

  /**
   * Checks the pages holding bytes [from, to) of the graph against the sidecar, each once, as a
   * search does before it reads a record (the same "verified" marks): a CorruptionError naming
   * the graph on a mismatch, which fails the graph for every later search too.
   */
  checkPages(from: number, to: number): void {
    if (this.closed) throw new StorageError('DATABASE_CLOSED', 'the database is closed');
    try {
      this.lib.checkPages(this.handle, from, to);
    } catch (err) {
      throw translate(err, this.name, 'checking');
    }
  }

  /** Whether searches run on int8 codes and re-rank by the graph's vectors. */
  get quantized(): boolean {
    return this.codes !== null;
  }

  /**
   * From now on searches run on `codes`, the graph's codes file mapped (the graph takes this hold
   * on it, and closes it with itself), and re-rank the `ef` best by the graph's float32 vectors.
   * `graphCrc` is the manifest's CRC32C of this graph: codes made for another are a
   * CorruptionError naming `name`, as is a header or page-sum table that does not check. The
   * re-rank reads the float32 vectors from `graphFile` (this graph's file) with pread.
   */
  attachCodes(codes: BorrowedMap, graphCrc: number, name: string, graphFile: string): void {
    try {
      this.lib.attachCodes(this.handle, codes.buffer, graphCrc >>> 0, graphFile);
    } catch (err) {
      codes.close();
      throw translate(err, name, 'mapping');
    }
    this.codes?.close();
    this.codes = codes;
    this.codesName = name;
  }

  /** Unmaps the file now instead of at garbage collection; searching after this throws. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.lib.close(this.handle);
    // A borrowed map outlives the graph's use of it: unmapped now, or as the search under way returns.
    if (!this.searching) this.releaseMaps();
  }

  private releaseMaps(): void {
    this.map?.close();
    this.codes?.close();
  }
}

function translate(err: unknown, name: string, action: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'QUIVER_CORRUPT') return new CorruptionError(name, message, { cause: err });
  // Removed since it was checked: a checkpoint replaced it. Readers retry on the newer manifest
  // (a CorruptionError that a newer manifest explains), as hnswlib-node's path does.
  if (code === 'QUIVER_MISSING') return new CorruptionError(name, `missing: ${message}`, { cause: err });
  if (code === 'QUIVER_IO') return ioError(action, name, err);
  return err;
}
