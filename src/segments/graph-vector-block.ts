import { CorruptionError, StorageError, ioError, type QuiverError } from '../errors.js';
import { crc32c } from '../format/crc.js';
import type { FileSystem } from '../fs/file-system.js';
import type { StoredVectors, VectorRun } from '../vault/stored-vectors.js';
import { GRAPH_HEADER, type GraphRows, type GraphShape } from './graph-vectors.js';
import type { SharedMap } from './vector-block.js';

/** Where a vault's graph is, and the page sums (its sidecar's) every byte read from it must match. */
export interface GraphVectorSource {
  fs: FileSystem;
  /** Open on the graph; the block closes it. */
  fd: number;
  /** The graph's path relative to the database, for errors. */
  file: string;
  shape: GraphShape;
  fileBytes: number;
  pageLog2: number;
  /** The sidecar's PAGE_SUMS: one u32 CRC32C per page. */
  sums: Uint8Array;
  /** The graph mapped (a reader with the native addon): vectors are then read in place, nothing copied. */
  map?: SharedMap | null;
  /**
   * With `map`: the graph search's own page check (MappedGraph.checkPages: the same "verified"
   * marks, in C), used instead of checking pages here. Throws CorruptionError on a mismatch.
   */
  checkPages?: ((from: number, to: number) => void) | null;
}

function closed(): StorageError {
  return new StorageError('DATABASE_CLOSED', 'the database is closed (or the view these vectors belong to was replaced)');
}

const CHUNK = 4 << 20;

/**
 * A vault's vectors when its segment has GRAPH_VECTORS (FORMAT.md "Segment files"): they live in
 * the saved graph, at element rows.elements[row], and (cosine) come back through the row's
 * correction. Until bound to its graph (engine/open/load.ts) nothing can be read.
 *
 * Private (a writer, or a reader without the addon): load() reads the graph's level-0 records
 * in 4 MiB chunks, checks every page against the sidecar's sums, and fills a private block in
 * row order, as VectorBlock does for VECTORS; a vector needed before that reads all at once.
 * Mapped: a row's vector is a view of the map (l2, ip) or rebuilt from it (cosine), after the
 * pages under its record have matched their sums (each checked once); load() checks every page
 * through a small buffer, faulting nothing into the process.
 */
export class GraphVectorBlock implements StoredVectors {
  private source: GraphVectorSource | null = null;
  private labelOf: ((row: number) => number) | null = null;
  private data: Float32Array | null = null;
  private loading: Promise<void> | null = null;
  private failure: QuiverError | null = null;
  private verified: Uint8Array | null = null;
  private shut = false;
  /** The array vector(row, d, true) rebuilds into (a scan's), and its bits. */
  private scratch: Float32Array | null = null;
  private scratchBits: Uint32Array | null = null;
  /** The sidecar's page sums, as u32. */
  private sums: Uint32Array = new Uint32Array(0);
  /** A mapped block's whole map, as bytes and as floats (level-0 records are 4-aligned in it). */
  private bytes: Uint8Array | null = null;
  private floats: Float32Array | null = null;

  constructor(
    readonly rows: GraphRows,
    private readonly dimension: number,
    /** The segment mapped, when `rows` views its GRAPH_VECTORS there (a reader with the addon): closed with the block. */
    private readonly segmentMap: SharedMap | null = null,
  ) {}

  /**
   * Binds the block to its graph; `labelOf(row)` is the segment's label of each row, which the
   * element must carry. The block owns `source.fd` and `source.map` once bound (not on a throw).
   */
  bind(source: GraphVectorSource, labelOf: (row: number) => number): void {
    const { count } = source.shape;
    for (let row = 0; row < this.rows.count; row++) {
      if (this.rows.elements[row]! >= count) {
        throw new CorruptionError(source.file, `segment row ${row} names graph element ${this.rows.elements[row]}, past the graph's ${count}`);
      }
    }
    this.source = source;
    this.labelOf = labelOf;
    const sums = source.sums;
    this.sums = sums.byteOffset % 4 === 0 ? new Uint32Array(sums.buffer, sums.byteOffset, sums.byteLength / 4) : new Uint32Array(sums.slice().buffer);
    if (source.map) {
      this.bytes = new Uint8Array(source.map.buffer);
      this.floats = new Float32Array(source.map.buffer, 0, Math.floor(source.map.buffer.byteLength / 4));
    }
    this.verified = new Uint8Array(Math.ceil(source.fileBytes / 2 ** source.pageLog2));
  }

  get mapped(): boolean {
    return Boolean(this.source?.map);
  }

  /** A mapped block has no run with row i at i·d·4 (its rows are graph elements): scans take records. */
  get rowRuns(): boolean {
    return !this.mapped;
  }

  /** The private block as a run for the native scan (row i at i·dimension·4). */
  run(dimension: number): VectorRun {
    if (this.mapped) throw new StorageError('DATABASE_FAILED', 'internal: a mapped graph block has no row run (rowRuns is false)');
    const a = this.array;
    return { buffer: a.buffer as ArrayBuffer, byteOffset: a.byteOffset, strideBytes: dimension * 4 };
  }

  get resident(): boolean {
    return this.data !== null;
  }

  get byteLength(): number {
    return this.rows.count * this.dimension * 4;
  }

  /** The vectors as one private block in row order (read now if need be); a mapped block makes one. */
  get array(): Float32Array {
    if (this.data) return this.data;
    const source = this.use();
    if (source.map) {
      const out = new Float32Array(this.rows.count * this.dimension);
      for (let row = 0; row < this.rows.count; row++) out.set(this.vector(row), row * this.dimension);
      return out;
    }
    this.fillSync(source);
    return this.data!;
  }

  vector(row: number, _dimension?: number, reuse = false): Float32Array {
    const d = this.dimension;
    if (this.data) return this.data.subarray(row * d, row * d + d);
    const source = this.use();
    if (!source.map) return this.array.subarray(row * d, row * d + d);
    const { per, dataOff } = source.shape;
    const element = this.rows.elements[row]!;
    const start = GRAPH_HEADER + element * per;
    const bytes = this.bytes!;
    if (source.map.buffer.byteLength === 0) throw closed();
    this.checkMappedPages(source, start, start + per);
    this.checkRecord(source, bytes, start, row, element);
    if (!this.rows.corrected) return new Float32Array(source.map.buffer, start + dataOff, d);
    let out: Float32Array;
    let bits: Uint32Array;
    if (reuse) {
      out = this.scratch ??= new Float32Array(d);
      bits = this.scratchBits ??= new Uint32Array(out.buffer);
    } else {
      out = new Float32Array(d);
      bits = new Uint32Array(out.buffer);
    }
    this.rows.reconstruct(row, this.floats!, (start + dataOff) / 4, out, bits, 0, source.file);
    return out;
  }

  load(): Promise<void> {
    if (this.data || this.shut) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    let source: GraphVectorSource;
    try {
      source = this.use();
    } catch (err) {
      return Promise.reject(err);
    }
    this.loading ??= this.fillAsync(source).finally(() => {
      this.loading = null;
      if (this.shut) this.drop();
      else if (this.data || this.failure) this.release();
    });
    return this.loading;
  }

  /** Closes the graph file of a private block not being read. A mapped block keeps its map (close() drops it). */
  release(): void {
    const source = this.source;
    if (!source || this.loading || source.fd < 0) return;
    try {
      source.fs.closeSync(source.fd);
    } catch {
      // Only read from: nothing to lose.
    }
    source.fd = -1;
  }

  close(): void {
    if (this.shut) return;
    this.shut = true;
    // A read in flight ends first (load() then drops what the block holds).
    if (!this.loading) this.drop();
  }

  private drop(): void {
    this.release();
    this.source?.map?.close();
    this.segmentMap?.close();
    if (this.source?.map) this.data = null;
  }

  private use(): GraphVectorSource {
    if (this.failure) throw this.failure;
    if (this.shut && !this.data) throw closed();
    if (!this.source) throw new StorageError('DATABASE_FAILED', 'internal: graph vectors read before their graph was bound');
    return this.source;
  }

  private fail(error: QuiverError): QuiverError {
    this.failure ??= error;
    return this.failure;
  }

  private pageFails(source: GraphVectorSource, page: number): QuiverError {
    const size = 2 ** source.pageLog2;
    return this.fail(new CorruptionError(source.file, `page ${page} (bytes ${page * size} to ${Math.min(source.fileBytes, (page + 1) * size) - 1}) does not match its checksum in the graph's sidecar: the vectors stored on it cannot be read`, { offset: page * size }));
  }

  /** The element must be live and carry the row's label: otherwise the segment and graph disagree. */
  private checkRecord(source: GraphVectorSource, record: Uint8Array, at: number, row: number, element: number): void {
    const l = at + source.shape.labelOff;
    const low = record[l]! | (record[l + 1]! << 8) | (record[l + 2]! << 16) | (record[l + 3]! << 24);
    const high = record[l + 4]! | record[l + 5]! | record[l + 6]! | record[l + 7]!;
    if ((record[at + 2]! & 1) !== 0 || high !== 0 || low >>> 0 !== this.labelOf!(row)) {
      throw this.fail(new CorruptionError(source.file, `graph element ${element} does not hold segment row ${row} (label ${this.labelOf!(row)})`));
    }
  }

  private checkMappedPages(source: GraphVectorSource, from: number, to: number): void {
    if (source.checkPages) {
      try {
        source.checkPages(from, to);
      } catch (err) {
        throw err instanceof CorruptionError ? this.fail(err) : err;
      }
      return;
    }
    const verified = this.verified!;
    const log2 = source.pageLog2;
    for (let p = from >>> log2, last = (to - 1) >>> log2; p <= last; p++) {
      if (verified[p]) continue;
      const at = p << log2;
      const end = Math.min(source.fileBytes, at + (1 << log2));
      if (crc32c(this.bytes!.subarray(at, end)) >>> 0 !== this.sums[p]) throw this.pageFails(source, p);
      verified[p] = 1;
    }
  }

  /** Checks pages [p0, p0 + bytes/page) of `buf` (the graph from byte p0 × page) against their sums. */
  private checkRead(source: GraphVectorSource, buf: Uint8Array, p0: number): void {
    const size = 2 ** source.pageLog2;
    for (let at = 0, p = p0; at < buf.byteLength; at += size, p++) {
      if (crc32c(buf.subarray(at, Math.min(at + size, buf.byteLength))) >>> 0 !== this.sums[p]) throw this.pageFails(source, p);
      this.verified![p] = 1;
    }
  }

  /** The level-0 chunks to read: element ranges and the whole pages around them. */
  private *chunks(source: GraphVectorSource): Generator<{ e0: number; e1: number; from: number; to: number }> {
    const { count, per } = source.shape;
    const size = 2 ** source.pageLog2;
    const batch = Math.max(1, Math.floor(CHUNK / per));
    for (let e0 = 0; e0 < count; e0 += batch) {
      const e1 = Math.min(count, e0 + batch);
      const from = Math.floor((GRAPH_HEADER + e0 * per) / size) * size;
      const to = Math.min(source.fileBytes, Math.ceil((GRAPH_HEADER + e1 * per) / size) * size);
      yield { e0, e1, from, to };
    }
  }

  private rowOfElement(source: GraphVectorSource): Int32Array {
    const rowOf = new Int32Array(source.shape.count).fill(-1);
    for (let row = 0; row < this.rows.count; row++) {
      const e = this.rows.elements[row]!;
      if (rowOf[e] !== -1) throw this.fail(new CorruptionError(source.file, `segment rows ${rowOf[e]} and ${row} name one graph element`));
      rowOf[e] = row;
    }
    return rowOf;
  }

  /** Copies (and corrects) the rows whose elements are in [e0, e1) from `buf`, the graph's bytes from `from`. */
  private take(source: GraphVectorSource, data: Float32Array, rowOf: Int32Array, buf: Buffer, e0: number, e1: number, from: number): void {
    const { per, dataOff } = source.shape;
    const floats = new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 4));
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let e = e0; e < e1; e++) {
      const row = rowOf[e]!;
      if (row < 0) continue;
      const at = GRAPH_HEADER + e * per - from;
      this.checkRecord(source, buf, at, row, e);
      this.rows.reconstruct(row, floats, (at + dataOff) / 4, data, bits, row * this.dimension, source.file);
    }
  }

  /** A chunk's elements and the partial pages at either end. */
  private buffer(source: GraphVectorSource): Buffer {
    return Buffer.allocUnsafeSlow(CHUNK + 2 * 2 ** source.pageLog2);
  }

  private fillSync(source: GraphVectorSource): void {
    try {
      const rowOf = this.rowOfElement(source);
      const data = new Float32Array(this.rows.count * this.dimension);
      const buf = this.buffer(source);
      for (const { e0, e1, from, to } of this.chunks(source)) {
        const got = buf.subarray(0, to - from);
        if (source.fs.readSync(source.fd, got, from) !== got.byteLength) throw this.fail(new CorruptionError(source.file, 'ends before its level-0 records'));
        this.checkRead(source, got, from / 2 ** source.pageLog2);
        this.take(source, data, rowOf, got, e0, e1, from);
      }
      this.data = data;
    } catch (err) {
      throw err instanceof CorruptionError ? this.fail(err) : this.fail(ioError('reading', source.file, err));
    } finally {
      if (!this.loading) this.release();
    }
  }

  /** load() of a block mapped beside its graph search: every level-0 page through the search's check, a chunk per turn of the event loop. */
  private async checkMapped(source: GraphVectorSource, rowOf: Int32Array): Promise<void> {
    const { per } = source.shape;
    for (const { e0, e1, from, to } of this.chunks(source)) {
      if (this.shut) return;
      if (this.failure) throw this.failure;
      this.checkMappedPages(source, from, to);
      for (let e = e0; e < e1; e++) {
        const row = rowOf[e]!;
        if (row >= 0) this.checkRecord(source, this.bytes!, GRAPH_HEADER + e * per, row, e);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async fillAsync(source: GraphVectorSource): Promise<void> {
    let next: Promise<Buffer> | null = null;
    try {
      const rowOf = this.rowOfElement(source);
      if (source.map && source.checkPages) return await this.checkMapped(source, rowOf);
      const data = source.map ? null : new Float32Array(this.rows.count * this.dimension);
      // The next chunk is read in the thread pool while this one is checked and copied.
      const bufs = [this.buffer(source), this.buffer(source)];
      const list = [...this.chunks(source)];
      const start = (k: number): Promise<Buffer> => {
        const { from, to } = list[k]!;
        const got = bufs[k & 1]!.subarray(0, to - from);
        return source.fs.read(source.fd, got, from).then((n) => {
          if (n !== got.byteLength) throw new CorruptionError(source.file, 'ends before its level-0 records');
          return got;
        });
      };
      next = list.length > 0 ? start(0) : null;
      for (let k = 0; k < list.length; k++) {
        const { e0, e1, from } = list[k]!;
        const got = await next!;
        next = k + 1 < list.length && !this.shut ? start(k + 1) : null;
        next?.catch(() => undefined);
        if (this.data || this.shut) return;
        if (this.failure) throw this.failure;
        this.checkRead(source, got, from / 2 ** source.pageLog2);
        if (data) this.take(source, data, rowOf, got, e0, e1, from);
        else {
          // Mapped: check every row's record against its row (label, live) from the bytes read.
          const { per } = source.shape;
          for (let e = e0; e < e1; e++) {
            const row = rowOf[e]!;
            if (row >= 0) this.checkRecord(source, got, GRAPH_HEADER + e * per - from, row, e);
          }
        }
      }
      if (data) this.data = data;
    } catch (err) {
      throw err instanceof CorruptionError || err instanceof StorageError ? this.fail(err) : this.fail(ioError('reading', source.file, err));
    } finally {
      // No read outlives the fill: the descriptor is closed after it.
      await next?.catch(() => undefined);
    }
  }
}
