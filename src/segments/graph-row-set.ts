import type { GraphRows } from './graph-vectors.js';

/**
 * The rows a mapped GraphVectorBlock reads (graph-vector-block.ts): its segment's GRAPH_VECTORS
 * rows, then the rows each checkpoint moved into it since (records written after the open, whose
 * own arrays the checkpoint let go once the graph it committed held them; checkpoint.ts). Every
 * piece is a GRAPH_VECTORS section of its own (FORMAT.md "Segment files"), its rows numbered on
 * from the pieces before; all of them are rows of the one graph the block is bound to.
 */
export class GraphRowSet {
  private readonly pieces: { rows: GraphRows; start: number; labels: Uint32Array | null }[];
  private total: number;

  constructor(
    base: GraphRows,
    /** The base rows' labels (the segment's), once known (GraphVectorBlock.bind). */
    private baseLabel: (row: number) => number = () => -1,
  ) {
    this.pieces = [{ rows: base, start: 0, labels: null }];
    this.total = base.count;
  }

  get count(): number {
    return this.total;
  }

  get corrected(): boolean {
    return this.pieces[0]!.rows.corrected;
  }

  labelBase(labelOf: (row: number) => number): void {
    this.baseLabel = labelOf;
  }

  /** Adds `rows`, whose row i holds label labels[i]; returns the number of the first. */
  append(rows: GraphRows, labels: Uint32Array): number {
    const start = this.total;
    this.pieces.push({ rows, start, labels });
    this.total += rows.count;
    return start;
  }

  /** The piece holding `row`: the last whose start is at or below it (a few dozen pieces at most). */
  private piece(row: number): { rows: GraphRows; start: number; labels: Uint32Array | null } {
    const pieces = this.pieces;
    if (pieces.length === 1) return pieces[0]!;
    let lo = 0;
    let hi = pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (pieces[mid]!.start <= row) lo = mid;
      else hi = mid - 1;
    }
    return pieces[lo]!;
  }

  element(row: number): number {
    const p = this.piece(row);
    return p.rows.elements[row - p.start]!;
  }

  label(row: number): number {
    const p = this.piece(row);
    return p.labels ? p.labels[row - p.start]! : this.baseLabel(row);
  }

  reconstruct(row: number, u: Float32Array, uAt: number, out: Float32Array, outBits: Uint32Array, at: number, file: string): void {
    const p = this.piece(row);
    p.rows.reconstruct(row - p.start, u, uAt, out, outBits, at, file);
  }

  copyCorrection(row: number, into: DataView, at: number): void {
    const p = this.piece(row);
    p.rows.copyCorrection(row - p.start, into, at);
  }

  exceptionsOf(row: number, out: number[]): void {
    const p = this.piece(row);
    p.rows.exceptionsOf(row - p.start, out);
  }
}
