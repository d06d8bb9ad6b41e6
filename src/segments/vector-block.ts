import { CorruptionError, StorageError, ioError, type QuiverError } from '../errors.js';
import { crc32c } from '../format/crc.js';
import { checksumRange, checksumRangeSync, readChecksummed } from '../fs/checksum.js';
import type { FileSystem } from '../fs/file-system.js';
import type { StoredVectors, VectorRun } from '../vault/stored-vectors.js';

/** A block whose state was discarded (a failed open, a replaced reader view) and is used anyway: a bug, reported as one. */
function released(): StorageError {
  return new StorageError('DATABASE_FAILED', 'internal: the vector block was released unread');
}

/** A closed block (its database closed, or a refresh replaced its view) read anyway. */
function closed(): StorageError {
  return new StorageError('DATABASE_CLOSED', 'the database is closed (or the view these vectors belong to was replaced)');
}

/** The segment file mapped read-only and shared (src/native/mapped-file.ts): its pages are the page cache's. */
export interface SharedMap {
  readonly buffer: ArrayBuffer;
  /** Unmaps now; every view of `buffer` becomes empty. */
  close(): void;
}

/** Where a segment's vector section lies, and the CRC32C its bytes must match. */
export interface VectorSource {
  fs: FileSystem;
  /** Open on the segment; the block closes it once read (an open file outlives its unlinking). */
  fd: number;
  /** The segment's path relative to the database, for errors. */
  file: string;
  offset: number;
  length: number;
  /** CRC32C of the section header's first 12 bytes: the section CRC continues from it. */
  seed: number;
  crc: number;
  /**
   * The whole segment, mapped (a reader with the native addon): the block is then a view of the
   * map once the section has matched its CRC, read for that through a small private buffer so
   * that checking faults no page into this process. The block owns the map from here on.
   */
  map?: SharedMap | null;
}

/**
 * A vault's vectors, one after another (record i owns floats i·d to (i+1)·d). Built in memory,
 * or left on disk by open (FORMAT.md "Segment files"): then `load()` reads the segment's VECTORS
 * payload in the background and checks its section CRC before keeping it; `array` before that
 * reads and checks it at once, synchronously. Code that can wait awaits `load()`.
 *
 * With a map (VectorSource.map) nothing is copied: the check reads the file through a small
 * buffer, and the block becomes a Float32Array view of the mapped section, pages shared with
 * every process. close() unmaps it (a reader's replaced view, a closed database).
 */
export class VectorBlock implements StoredVectors {
  private data: Float32Array | null;
  private source: VectorSource | null;
  private loading: Promise<Float32Array> | null = null;
  private failure: QuiverError | null = null;
  private map: SharedMap | null;
  /** Whether the vectors are (or were) a view of the mapped segment rather than a private copy. */
  readonly mapped: boolean;
  /** close() was called: unmapped (or to be, once the read in flight ends). */
  private shut = false;

  private constructor(data: Float32Array | null, source: VectorSource | null) {
    this.data = data;
    this.source = source;
    this.map = source?.map ?? null;
    this.mapped = this.map !== null;
  }

  static resident(data: Float32Array): VectorBlock {
    return new VectorBlock(data, null);
  }

  /** A block still on disk; it owns `source.fd` from here on. */
  static onDisk(source: VectorSource): VectorBlock {
    return new VectorBlock(null, source);
  }

  get resident(): boolean {
    return this.data !== null;
  }

  /** Bytes the block holds (or will hold). */
  get byteLength(): number {
    return this.data ? this.data.byteLength : (this.source?.length ?? 0);
  }

  /** The vectors, read now (synchronously) if the background read has not finished. */
  get array(): Float32Array {
    if (this.data) return this.data;
    if (this.shut) throw closed();
    if (this.failure) throw this.failure;
    if (!this.source) throw released();
    const source = this.source;
    try {
      if (this.map) {
        let sum: { bytes: number; crc32c: number };
        try {
          sum = checksumRangeSync(source.fs, source.fd, source.offset, source.length, source.seed);
        } catch (cause) {
          throw this.fail(ioError('reading', source.file, cause));
        }
        this.accept(null, sum.bytes, sum.crc32c);
        return this.data!;
      }
      const bytes = Buffer.allocUnsafeSlow(source.length);
      let read: number;
      try {
        read = source.fs.readSync(source.fd, bytes, source.offset);
      } catch (cause) {
        throw this.fail(ioError('reading', source.file, cause));
      }
      this.accept(bytes, read, crc32c(bytes.subarray(0, read), source.seed));
      return this.data!;
    } finally {
      // A background read in flight owns the descriptor and closes it when it sees the outcome.
      if (!this.loading) this.release();
    }
  }

  vector(row: number, dimension: number): Float32Array {
    return this.array.subarray(row * dimension, row * dimension + dimension);
  }

  /** The vectors in place, for the native scan: a private copy's buffer or the mapped file's. */
  run(dimension: number): VectorRun {
    const a = this.array;
    return { buffer: a.buffer as ArrayBuffer, byteOffset: a.byteOffset, strideBytes: dimension * 4 };
  }

  /**
   * Reads the block in the background, checksumming chunk by chunk; resolves when it is resident
   * (or closed: nothing can read a closed block's vectors, so there is nothing left to check).
   */
  load(): Promise<void> {
    if (this.data || this.shut) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (!this.source) return Promise.reject(released());
    this.loading ??= this.readAsync();
    return this.loading.then(() => undefined);
  }

  /** Closes the file of a block whose read has not started (its state was discarded), and unmaps it; a no-op otherwise. */
  release(): void {
    const source = this.source;
    if (!source || this.loading) return;
    this.source = null;
    try {
      source.fs.closeSync(source.fd);
    } catch {
      // Closing a descriptor only read from: nothing to lose.
    }
    if (!this.data) this.unmap();
  }

  /**
   * Unmaps a mapped block now rather than at garbage collection: its vectors can no longer be
   * read (a later read is a StorageError, never unmapped memory). A private block is kept, and an
   * unread one's file is closed. For a view nothing uses any more (engine/open/retire.ts, db.close()).
   */
  close(): void {
    if (!this.mapped || this.shut) return this.release();
    this.shut = true;
    // A read in flight owns the descriptor: it closes the block when it ends (readAsync).
    if (this.loading) return;
    this.release();
    this.data = null;
    this.unmap();
  }

  private unmap(): void {
    const map = this.map;
    this.map = null;
    map?.close();
  }

  private async readAsync(): Promise<Float32Array> {
    const source = this.source!;
    try {
      if (this.map) {
        let sum: { bytes: number; crc32c: number };
        try {
          sum = await checksumRange(source.fs, source.fd, source.offset, source.length, source.seed);
        } catch (cause) {
          throw this.fail(ioError('reading', source.file, cause));
        }
        if (this.failure) throw this.failure;
        if (!this.data) this.accept(null, sum.bytes, sum.crc32c);
        return this.data!;
      }
      // Not zeroed: every byte is read over, or the block fails.
      const bytes = Buffer.allocUnsafeSlow(source.length);
      let sum: { bytes: number; crc32c: number };
      try {
        sum = await readChecksummed(source.fs, source.fd, bytes, source.offset, source.seed);
      } catch (cause) {
        throw this.fail(ioError('reading', source.file, cause));
      }
      // A synchronous read may have finished first.
      if (this.failure) throw this.failure;
      if (!this.data) this.accept(bytes, sum.bytes, sum.crc32c);
      return this.data!;
    } finally {
      this.loading = null;
      if (this.data || this.failure) this.release();
      if (this.shut) {
        this.data = null;
        this.release();
        this.unmap();
      }
    }
  }

  /** Keeps the vectors once their bytes have matched: `bytes` as read, or (null) the mapped section. */
  private accept(bytes: Uint8Array | null, read: number, crc: number): void {
    const source = this.source!;
    if (read !== source.length) throw this.fail(new CorruptionError(source.file, `vector section ends ${source.length - read} bytes early`));
    if (crc !== source.crc) throw this.fail(new CorruptionError(source.file, 'vector section checksum mismatch', { offset: source.offset }));
    if (bytes) this.data = new Float32Array(bytes.buffer, bytes.byteOffset, source.length / 4);
    else this.data = new Float32Array(this.map!.buffer, source.offset, source.length / 4);
  }

  private fail(error: QuiverError): QuiverError {
    this.failure = error;
    return error;
  }
}
