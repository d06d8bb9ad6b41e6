import { CorruptionError, StorageError, ioError, type QuiverError } from '../errors.js';
import type { StoredVectors, VectorRun } from '../vault/stored-vectors.js';
import { GRAPH_HEADER, type GraphRows, type GraphShape } from './graph-vectors.js';
import { finish } from '../util/loop-turns.js';
import { GraphRowSet } from './graph-row-set.js';
import type { SharedMap } from './vector-block.js';
import { checkMappedPages, checkReadPages, chunkBuffer, closeFd, closeView, holdsLabel, levelZeroChunks, viewOf, type GraphVectorSource, type GraphView } from './graph-view.js';

export type { GraphVectorSource } from './graph-view.js';

function closed(): StorageError {
  return new StorageError('DATABASE_CLOSED', 'the database is closed (or the view these vectors belong to was replaced)');
}

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
  /** The graph the rows are read from, once bound. */
  private view: GraphView | null = null;
  /**
   * After rebind(): the graph the block was bound to before, for the rows the new one does not
   * hold unchanged (`kept[row]` 2: records erased or replaced since; see rebind()). Dropped by the
   * next dropPrevious() (a checkpoint's start), so at most one earlier graph stays mapped.
   */
  private old: GraphView | null = null;
  private kept: Uint8Array | null = null;
  /** The rows: the segment's, then those checkpoints moved in since (append()). */
  private readonly set: GraphRowSet;
  private data: Float32Array | null = null;
  private loading: Promise<void> | null = null;
  private failure: QuiverError | null = null;
  private shut = false;
  /** A mapped block whose every page and record has been checked once (load() has nothing left to do). */
  private checked = false;
  /** Delta segments mapped, whose rows (addDelta) and records view them: closed with the block. */
  private readonly deltaMaps: SharedMap[] = [];
  /** The array vector(row, d, true) rebuilds into (a scan's), and its bits. */
  private scratch: Float32Array | null = null;
  private scratchBits: Uint32Array | null = null;

  constructor(
    readonly rows: GraphRows,
    private readonly dimension: number,
    /** The segment mapped, when `rows` views its GRAPH_VECTORS there (a reader with the addon): closed with the block. */
    private readonly segmentMap: SharedMap | null = null,
  ) {
    this.set = new GraphRowSet(rows);
  }

  /**
   * A block of no rows yet, for a vault whose records were all written since the open (no
   * version 2 segment to read): its first checkpoint binds it to the graph it commits and
   * append()s the rows (engine/open/graph-home.ts, startGraphVectors).
   */
  static fresh(rows: GraphRows, dimension: number): GraphVectorBlock {
    const block = new GraphVectorBlock(rows, dimension);
    block.checked = true;
    return block;
  }

  /**
   * Binds the block to its graph; `labelOf(row)` is the segment's label of each row, which the
   * element must carry. The block owns `source.fd` and `source.map` once bound (not on a throw).
   */
  bind(source: GraphVectorSource, labelOf: (row: number) => number): void {
    finish(this.bindSteps(source, labelOf));
  }

  /** bind() in slices: each yield ends one (util/loop-turns.ts). */
  *bindSteps(source: GraphVectorSource, labelOf: (row: number) => number): Generator<undefined, void> {
    const { count } = source.shape;
    for (let row = 0; row < this.set.count; row++) {
      if (this.set.element(row) >= count) {
        throw new CorruptionError(source.file, `segment row ${row} names graph element ${this.set.element(row)}, past the graph's ${count}`);
      }
      if ((row & 0xffff) === 0xffff) yield;
    }
    this.view = viewOf(source);
    this.set.labelBase(labelOf);
  }

  /**
   * At open, before bind(): adds a delta segment's GRAPH_VECTORS rows (FORMAT.md "Delta
   * segments"), row i of `rows` holding labels[i]. Returns the block row of the first.
   */
  addDelta(rows: GraphRows, labels: Uint32Array, file: string, map: SharedMap | null = null): number {
    if (this.view) throw new StorageError('DATABASE_FAILED', 'internal: delta rows are added before the block is bound');
    if (rows.corrected !== this.set.corrected) throw new CorruptionError(file, 'its GRAPH_VECTORS rows are not corrected as its base segment\'s are');
    const first = this.set.append(rows, labels);
    if (map) this.deltaMaps.push(map);
    return first;
  }

  /**
   * At open, once every delta segment is applied: `live[row]` is 1 for each row a record reads
   * and 0 for the rows of records a later file replaced or erased, which the graph no longer
   * holds (nothing reads them, and the vector check passes them by).
   */
  retain(live: Uint8Array): void {
    if (this.view?.source.map && this.kept) throw new StorageError('DATABASE_FAILED', 'internal: rows are retained once, at open');
    if (live.length !== this.set.count) throw new StorageError('DATABASE_FAILED', 'internal: a retain mark per row');
    this.kept = live;
  }

  /** The block's rows: its segment's, then those added since (addDelta, append). */
  get count(): number {
    return this.set.count;
  }

  get mapped(): boolean {
    return Boolean(this.view?.source.map);
  }

  /** A mapped block checks the pages of each vector it reads first (readMapped): StoredVectors.checksEachRead. */
  get checksEachRead(): boolean {
    return this.mapped;
  }

  /**
   * What a checkpoint needs to carry a mapped block's rows into the graph it is about to commit
   * (graph-vectors-encode.ts, `previous`): its rows, its graph's shape, and a read of that graph
   * through its descriptor (pread: nothing of the map is touched, so nothing is faulted in).
   * Null for a private block (its vectors are in memory) or one not bound.
   */
  previous(): { rows: GraphRowSet; shape: GraphShape; read: (into: Uint8Array, position: number) => Promise<number> } | null {
    const view = this.view;
    if (!view?.source.map || this.shut || this.failure || view.source.fd < 0) return null;
    const { fs, fd } = view.source;
    return { rows: this.set, shape: view.source.shape, read: (into, position) => fs.read(fd, into, position) };
  }

  /**
   * Moves a mapped block onto a graph just committed by a checkpoint: `kept[row]` is 1 where that
   * graph's element rows.elements[row] holds the row's label and the same floats as the graph the
   * block is bound to (the checkpoint compared them), so the row's correction holds there too.
   * Rows not kept must be records gone since (the caller checks every live one is kept): those
   * gone since the last rebind are still read from the graph before, until the next
   * dropPrevious(), for a search that held one across the checkpoint; older ones read as closed. The block owns `source.fd` and `source.map` (on a throw too).
   */
  rebind(source: GraphVectorSource, kept: Uint8Array): void {
    if (!this.mapped || this.shut || !source.map || kept.length !== this.set.count) {
      closeView(viewOf(source));
      throw new StorageError('DATABASE_FAILED', 'internal: only a mapped graph block is rebound, to a mapped graph, with a mark per row');
    }
    this.dropPrevious();
    // Per row: 1 read from the new graph; 2 from the one before (a record gone since, still
    // readable for a search that holds it); 0 from neither (gone before an earlier rebind).
    for (let row = 0; row < kept.length; row++) if (kept[row] !== 1) kept[row] = this.kept === null || this.kept[row] === 1 ? 2 : 0;
    this.old = this.view;
    this.view = viewOf(source);
    this.kept = kept;
  }

  /**
   * Adds rows of the graph the block is bound to (a checkpoint moving records written since the
   * open into it: their own arrays can go): row i of `rows` holds labels[i]. Returns the block
   * row of the first, which StoredRecord.moveVector() then names.
   */
  append(rows: GraphRows, labels: Uint32Array): number {
    if (!this.mapped || this.shut || rows.corrected !== this.set.corrected) throw new StorageError('DATABASE_FAILED', 'internal: rows are only added to a mapped graph block, with its kind of correction');
    const first = this.set.append(rows, labels);
    if (this.kept) {
      const kept = new Uint8Array(this.set.count);
      kept.set(this.kept);
      kept.fill(1, first);
      this.kept = kept;
    }
    return first;
  }

  /** Unmaps the graph before the last rebind() (its rows were records since erased or replaced). */
  dropPrevious(): void {
    if (!this.old) return;
    closeView(this.old);
    this.old = null;
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
    return this.set.count * this.dimension * 4;
  }

  /** The vectors as one private block in row order (read now if need be); a mapped block makes one. */
  get array(): Float32Array {
    if (this.data) return this.data;
    const source = this.use().source;
    if (source.map) {
      const out = new Float32Array(this.set.count * this.dimension);
      for (let row = 0; row < this.set.count; row++) out.set(this.vector(row), row * this.dimension);
      return out;
    }
    this.fillSync(this.view!);
    return this.data!;
  }

  vector(row: number, _dimension?: number, reuse = false): Float32Array {
    const d = this.dimension;
    if (this.data) return this.data.subarray(row * d, row * d + d);
    let view = this.use();
    const source = view.source;
    if (!source.map) return this.array.subarray(row * d, row * d + d);
    if (this.kept && this.kept[row] !== 1) {
      // A record gone since the last rebind: readable until the graph before is dropped.
      if (this.kept[row] !== 2 || !this.old) throw closed();
      view = this.old;
    }
    return this.readMapped(view, row, reuse);
  }

  private readMapped(view: GraphView, row: number, reuse: boolean): Float32Array {
    const d = this.dimension;
    const source = view.source;
    const map = source.map!;
    const { per, dataOff } = source.shape;
    const element = this.set.element(row);
    const start = GRAPH_HEADER + element * per;
    if (map.isClosed) throw closed();
    const w = map.window(start);
    const at = start - w.start;
    this.checkMappedPages(view, start, start + per);
    this.checkRecord(source, w.bytes, at, row, element);
    if (!this.set.corrected) return w.floats.subarray((at + dataOff) >>> 2, ((at + dataOff) >>> 2) + d);
    let out: Float32Array;
    let bits: Uint32Array;
    if (reuse) {
      out = this.scratch ??= new Float32Array(d);
      bits = this.scratchBits ??= new Uint32Array(out.buffer);
    } else {
      out = new Float32Array(d);
      bits = new Uint32Array(out.buffer);
    }
    this.set.reconstruct(row, w.floats, (at + dataOff) / 4, out, bits, 0, source.file);
    return out;
  }

  load(): Promise<void> {
    if (this.data || this.shut || this.checked) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    let view: GraphView;
    try {
      view = this.use();
    } catch (err) {
      return Promise.reject(err);
    }
    this.loading ??= this.fillAsync(view).finally(() => {
      this.loading = null;
      if (this.shut) this.drop();
      else if (this.data || this.failure) this.release();
    });
    return this.loading;
  }

  /** Closes the graph file of a private block not being read. A mapped block keeps its map (close() drops it). */
  release(): void {
    const source = this.view?.source;
    if (!source || this.loading) return;
    closeFd(source);
  }

  close(): void {
    if (this.shut) return;
    this.shut = true;
    // A read in flight ends first (load() then drops what the block holds).
    if (!this.loading) this.drop();
  }

  private drop(): void {
    this.release();
    this.dropPrevious();
    this.view?.source.map?.close();
    this.segmentMap?.close();
    for (const map of this.deltaMaps.splice(0)) map.close();
    if (this.view?.source.map) this.data = null;
  }

  private use(): GraphView {
    if (this.failure) throw this.failure;
    if (this.shut && !this.data) throw closed();
    if (!this.view) throw new StorageError('DATABASE_FAILED', 'internal: graph vectors read before their graph was bound');
    return this.view;
  }

  private fail(error: QuiverError): QuiverError {
    this.failure ??= error;
    return this.failure;
  }

  /** The element must be live and carry the row's label: otherwise the segment and graph disagree. */
  private checkRecord(source: GraphVectorSource, record: Uint8Array, at: number, row: number, element: number): void {
    if (!holdsLabel(source, record, at, this.set.label(row))) throw this.fail(new CorruptionError(source.file, `graph element ${element} does not hold segment row ${row} (label ${this.set.label(row)})`));
  }

  private checkMappedPages(view: GraphView, from: number, to: number): void {
    try {
      checkMappedPages(view, from, to);
    } catch (err) {
      throw err instanceof CorruptionError ? this.fail(err) : err;
    }
  }

  private checkRead(view: GraphView, buf: Uint8Array, p0: number): void {
    try {
      checkReadPages(view, buf, p0);
    } catch (err) {
      throw err instanceof CorruptionError ? this.fail(err) : err;
    }
  }

  private rowOfElement(source: GraphVectorSource): Int32Array {
    const rowOf = new Int32Array(source.shape.count).fill(-1);
    for (let row = 0; row < this.set.count; row++) {
      // A row not kept by a rebind is a record gone since: the new graph need not hold it.
      if (this.kept && this.kept[row] !== 1) continue;
      const e = this.set.element(row);
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
      this.set.reconstruct(row, floats, (at + dataOff) / 4, data, bits, row * this.dimension, source.file);
    }
  }

  private fillSync(view: GraphView): void {
    const source = view.source;
    try {
      const rowOf = this.rowOfElement(source);
      const data = new Float32Array(this.set.count * this.dimension);
      const buf = chunkBuffer(source);
      for (const { e0, e1, from, to } of levelZeroChunks(source)) {
        const got = buf.subarray(0, to - from);
        if (source.fs.readSync(source.fd, got, from) !== got.byteLength) throw this.fail(new CorruptionError(source.file, 'ends before its level-0 records'));
        this.checkRead(view, got, from / 2 ** source.pageLog2);
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
  private async checkMapped(view: GraphView, rowOf: Int32Array): Promise<void> {
    const source = view.source;
    const { per } = source.shape;
    for (const { e0, e1, from, to } of levelZeroChunks(source)) {
      if (this.shut) return;
      if (this.failure) throw this.failure;
      this.checkMappedPages(view, from, to);
      for (let e = e0; e < e1; e++) {
        const row = rowOf[e]!;
        if (row < 0) continue;
        const at = GRAPH_HEADER + e * per;
        const w = source.map!.window(at);
        this.checkRecord(source, w.bytes, at - w.start, row, e);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!this.shut) this.checked = true;
  }

  private async fillAsync(view: GraphView): Promise<void> {
    const source = view.source;
    let next: Promise<Buffer> | null = null;
    try {
      const rowOf = this.rowOfElement(source);
      if (source.map && source.checkPages) return await this.checkMapped(view, rowOf);
      const data = source.map ? null : new Float32Array(this.set.count * this.dimension);
      // The next chunk is read in the thread pool while this one is checked and copied.
      const bufs = [chunkBuffer(source), chunkBuffer(source)];
      const list = [...levelZeroChunks(source)];
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
        this.checkRead(view, got, from / 2 ** source.pageLog2);
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
      else if (!this.shut) this.checked = true;
    } catch (err) {
      throw err instanceof CorruptionError || err instanceof StorageError ? this.fail(err) : this.fail(ioError('reading', source.file, err));
    } finally {
      // No read outlives the fill: the descriptor is closed after it.
      await next?.catch(() => undefined);
    }
  }
}
