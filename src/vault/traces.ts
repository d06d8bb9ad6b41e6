import type { Payload } from './payload.js';
import type { Retention, StoredTrace } from '../format/history-codec.js';
import { byCodeUnits } from '../util/code-units.js';

export type { Retention, StoredTrace };

const order = (a: StoredTrace, b: StoredTrace): number => a.at - b.at || byCodeUnits(a.key, b.key);

/** A vault's completed traces, keyed, kept in time order. */
export class TraceStore {
  private readonly byKey = new Map<string, StoredTrace>();
  private sorted: StoredTrace[] | null = [];
  bytes = 0;
  retention: Retention = {};

  get count(): number {
    return this.byKey.size;
  }

  get(key: string): StoredTrace | undefined {
    return this.byKey.get(key);
  }

  put(trace: StoredTrace): void {
    this.delete(trace.key);
    this.byKey.set(trace.key, trace);
    this.bytes += trace.bytes.byteLength;
    this.sorted = null;
  }

  delete(key: string): boolean {
    const old = this.byKey.get(key);
    if (!old) return false;
    this.byKey.delete(key);
    this.bytes -= old.bytes.byteLength;
    this.sorted = null;
    return true;
  }

  /** All traces, oldest first. */
  ordered(): StoredTrace[] {
    this.sorted ??= [...this.byKey.values()].sort(order);
    return this.sorted;
  }

  /** Keys to drop, oldest first, to bring the store within its retention at time `now`. */
  expired(now: number): string[] {
    const { maxCount, maxBytes, maxAgeMs } = this.retention;
    const all = this.ordered();
    let count = all.length;
    let bytes = this.bytes;
    const drop: string[] = [];
    for (const t of all) {
      const tooOld = maxAgeMs !== undefined && now - t.at > maxAgeMs;
      if (!tooOld && (maxCount === undefined || count <= maxCount) && (maxBytes === undefined || bytes <= maxBytes)) break;
      drop.push(t.key);
      count--;
      bytes -= t.bytes.byteLength;
    }
    return drop;
  }
}

export type { Payload };
