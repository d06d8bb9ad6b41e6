/**
 * Vectors laid out at a fixed stride in one buffer: row r's `dimension` floats start at
 * byteOffset + r·strideBytes. A segment's block (stride = dimension·4) or, once vectors are
 * stored once, hnswlib's graph file (stride = its size_data_per_element).
 */
export interface VectorRun {
  buffer: ArrayBuffer;
  byteOffset: number;
  strideBytes: number;
}

/**
 * A vault's vectors as its last checkpoint left them: in memory, or still being read from the
 * segment in the background (segments/vector-block.ts is the one implementation). The domain
 * only reads them; how they reach memory is the segment layer's business.
 */
export interface StoredVectors {
  /**
   * Row `row`'s `dimension` floats, read now (synchronously) if the background read has not
   * finished: a view of the block, or (vectors held in a graph, corrected on the way) a new array;
   * with `reuse`, possibly one array overwritten by the next such call (a scan that reads each
   * vector at once).
   */
  vector(row: number, dimension: number, reuse?: boolean): Float32Array;
  /** Bytes the block holds (or will hold). */
  readonly byteLength: number;
  /** The vectors as a run for the native scan (row i at i·dimension·4), read now if need be. */
  run(dimension: number): VectorRun;
  /**
   * False when run() is not available: a reader's vectors viewed in a mapped graph, where row i
   * is not at i·dimension·4 (and, under cosine, is rebuilt from the graph's unit vector). Scans
   * then read its rows as records (vault/filter-scan.ts).
   */
  readonly rowRuns?: boolean;
  /**
   * True when every read checks the bytes it uses before returning them (a graph block viewing a
   * mapped graph: each page against the sidecar's sum before its first use), so a search need not
   * wait for load()'s check of them all to compute no answer over unchecked data (open option
   * `verify: 'full'`, engine/open/vector-check.ts).
   */
  readonly checksEachRead?: boolean;
  /** Resolves once the vectors are in memory and have matched their checksum. */
  load(): Promise<void>;
  /** Closes the file of a block that will not be read. */
  release(): void;
  /** Gives back what the block holds outside the heap (a mapped segment) once nothing will read it. */
  close(): void;
}
