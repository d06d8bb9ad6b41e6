/**
 * A set of labels. Labels are dense (handed out in order from 0), so a byte per label up to the
 * largest: opening a 100k-record vault fills 100 KB instead of building a 100k-entry Set.
 */
export class LabelSet {
  private bits: Uint8Array;
  private count = 0;

  /** `capacity`: room for labels below it before the first growth. */
  constructor(capacity = 64) {
    this.bits = new Uint8Array(Math.max(capacity, 64));
  }

  get size(): number {
    return this.count;
  }

  /** The set as a bitmap by label (1: present), valid until the next add. */
  get bytes(): Uint8Array {
    return this.bits;
  }

  has(label: number): boolean {
    return this.bits[label] === 1;
  }

  add(label: number): void {
    if (label >= this.bits.length) {
      const grown = new Uint8Array(Math.max(label + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    if (this.bits[label] === 1) return;
    this.bits[label] = 1;
    this.count++;
  }

  /** Whether it was there. */
  delete(label: number): boolean {
    if (this.bits[label] !== 1) return false;
    this.bits[label] = 0;
    this.count--;
    return true;
  }
}
