/** What the order reads of a record store (record-store.ts). */
export interface IdSource<R extends { readonly id: string }> {
  readonly count: number;
  get(id: string): R | undefined;
  values(): Iterable<R>;
}

/**
 * Record ids in code-unit order, for scan(). Sorting every id for every page would cost
 * O(n log n) a page, so the order is kept as a sorted array built once plus the ids inserted
 * since (sorted on demand, small); erased ids are skipped by a look-up in the store as a page is
 * read. Both are rebuilt from the store once they hold too many stale or new entries.
 *
 * A page resumes after the cursor id by binary search, so the cursor is just the last id
 * returned: it stays valid whatever is written between pages, and a record that exists
 * throughout is returned exactly once.
 */
export class IdOrder<R extends { readonly id: string }> {
  private sorted: string[] = [];
  private added: string[] = [];
  private addedSorted = true;

  constructor(private readonly store: IdSource<R>) {
    this.rebuild();
  }

  /** A new id entered the store (an upsert of an existing id is no change). */
  note(id: string): void {
    this.added.push(id);
    this.addedSorted = false;
  }

  private rebuild(): void {
    const ids: string[] = [];
    for (const r of this.store.values()) ids.push(r.id);
    // The default sort compares UTF-16 code units: exactly the order we promise.
    this.sorted = ids.sort();
    this.added = [];
    this.addedSorted = true;
  }

  /**
   * Records after `after` (all when null) in id order, that `accept` takes, until `limit` of
   * them; `more` tells whether another accepted record follows.
   */
  page(after: string | null, limit: number, accept: ((r: R) => boolean) | null): { records: R[]; more: boolean } {
    const live = this.store.count;
    if (this.added.length > 1024 + (this.sorted.length >> 3) || this.sorted.length + this.added.length > 2 * live + 1024) this.rebuild();
    if (!this.addedSorted) {
      this.added.sort();
      this.addedSorted = true;
    }
    const a = this.sorted;
    const b = this.added;
    let i = after === null ? 0 : upperBound(a, after);
    let j = after === null ? 0 : upperBound(b, after);
    const records: R[] = [];
    let last: string | null = null;
    while (i < a.length || j < b.length) {
      let id: string;
      if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) id = a[i++]!;
      else id = b[j++]!;
      // An id erased and inserted again sits in both lists (or twice in `added`).
      if (id === last) continue;
      last = id;
      const r = this.store.get(id);
      if (!r || (accept && !accept(r))) continue;
      if (records.length === limit) return { records, more: true };
      records.push(r);
    }
    return { records, more: false };
  }
}

/** The first index whose element is greater than `key`. */
function upperBound(xs: readonly string[], key: string): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
