/**
 * Records by label for the labels handed out since a store was loaded, in an array that starts
 * at the first of them, not at label 0.
 *
 * Labels are handed out in order and never reused, so the labels put after a load are dense from
 * the first one on. A store over a segment of a million rows that then takes a few records (a
 * delta segment's, read by a reader) would otherwise hold an array of a million holes (8 MB)
 * before its first entry. A label below the array's start (a base row's record given a new
 * payload keeps its label) goes into a map: few, and found there.
 */
export class LabelSlots<T> {
  /** Labels at or past `from` are at dense[label - from]. */
  private from = 0;
  private dense: (T | undefined)[] = [];
  private readonly low = new Map<number, T>();
  /** One past the largest label ever put in `low`. */
  private lowEnd = 0;

  get(label: number): T | undefined {
    return label >= this.from ? this.dense[label - this.from] : this.low.get(label);
  }

  set(label: number, value: T): void {
    // The array starts at the first label put in it (the first handed out since the load).
    if (this.dense.length === 0 && label > this.from) this.from = label;
    if (label >= this.from) this.dense[label - this.from] = value;
    else {
      this.low.set(label, value);
      if (label >= this.lowEnd) this.lowEnd = label + 1;
    }
  }

  /** Clears a label's slot; no write past the array's end. */
  delete(label: number): void {
    if (label < this.from) this.low.delete(label);
    else if (this.dense[label - this.from] !== undefined) this.dense[label - this.from] = undefined;
  }

  /** One past the largest label an entry may have (0 when none was ever set). */
  get end(): number {
    return this.dense.length > 0 ? this.from + this.dense.length : this.lowEnd;
  }

  forEach(fn: (value: T, label: number) => void): void {
    this.low.forEach(fn);
    this.dense.forEach((value, i) => {
      if (value !== undefined) fn(value, this.from + i);
    });
  }
}
