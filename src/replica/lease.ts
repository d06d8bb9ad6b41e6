import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { LockedError } from '../errors.js';
import { PreconditionFailed, type ObjectStore } from '../object-store/store.js';
import { LEASE_KEY, LEASE_MAGIC, decodeJson, encodeJson, type Lease } from './layout.js';

/**
 * The writer's lease on a prefix (FORMAT.md "Object storage: the lease"). One object, changed only
 * by conditional writes: created with If-None-Match: *, renewed, released or taken over with
 * If-Match on the etag last seen. Whoever loses a condition does not hold the lease.
 */
export class RemoteLease {
  private etag: string;
  private lost = false;

  private constructor(
    private readonly store: ObjectStore,
    readonly holder: Lease['holder'],
    etag: string,
    private readonly ttlMs: number,
  ) {
    this.etag = etag;
  }

  /**
   * Takes the lease. A live lease held by anyone else is LockedError naming the holder; an expired
   * one is taken over only with `takeover` (explicit: the old writer may merely be cut off).
   */
  static async acquire(store: ObjectStore, options: { ttlMs: number; takeover: boolean }): Promise<RemoteLease> {
    const holder = { id: randomBytes(8).toString('hex'), host: os.hostname(), pid: process.pid, since: new Date().toISOString() };
    const body = (): Buffer => encodeJson(LEASE_MAGIC, { holder, expiresAt: Date.now() + options.ttlMs } satisfies Lease);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await store.get(LEASE_KEY);
      try {
        if (!current) return new RemoteLease(store, holder, (await store.put(LEASE_KEY, body(), { ifAbsent: true })).etag, options.ttlMs);
        const lease = decodeJson<Lease>(LEASE_MAGIC, current.body, `${store.url}/${LEASE_KEY}`);
        const released = lease.expiresAt === 0;
        const expired = lease.expiresAt < Date.now();
        if (!released && !(expired && options.takeover)) {
          const who = `pid ${lease.holder.pid} on host ${lease.holder.host} (since ${lease.holder.since})`;
          const why = expired ? `its lease expired at ${new Date(lease.expiresAt).toISOString()}; pass takeover: true (quiver replicate --takeover) once that writer is known to be gone` : `until ${new Date(lease.expiresAt).toISOString()}`;
          throw new LockedError('LOCKED', `${store.url} has a writer: ${who}, ${why}`, { holder: { pid: lease.holder.pid, host: lease.holder.host, since: lease.holder.since } });
        }
        return new RemoteLease(store, holder, (await store.put(LEASE_KEY, body(), { ifMatch: current.etag })).etag, options.ttlMs);
      } catch (err) {
        if (!(err instanceof PreconditionFailed)) throw err;
        // Someone else wrote the lease between our read and write: read it again.
      }
    }
    throw new LockedError('LOCKED', `${store.url}: the lease kept changing under us; another writer is starting`);
  }

  get isLost(): boolean {
    return this.lost;
  }

  /** The etag we last wrote: if the lease object still has it, we still hold it. */
  async stillHeld(): Promise<boolean> {
    const head = await this.store.head(LEASE_KEY);
    return head?.etag === this.etag;
  }

  /** Extends the lease. PreconditionFailed means it was taken over: it is lost for good. */
  async renew(): Promise<void> {
    if (this.lost) throw this.lostError();
    try {
      this.etag = (await this.store.put(LEASE_KEY, encodeJson(LEASE_MAGIC, { holder: this.holder, expiresAt: Date.now() + this.ttlMs } satisfies Lease), { ifMatch: this.etag })).etag;
    } catch (err) {
      if (err instanceof PreconditionFailed) {
        this.lost = true;
        throw this.lostError();
      }
      throw err;
    }
  }

  /** Marks the lease released (expiresAt 0) so the next writer needs no takeover. Best effort. */
  async release(): Promise<void> {
    if (this.lost) return;
    this.lost = true;
    await this.store.put(LEASE_KEY, encodeJson(LEASE_MAGIC, { holder: this.holder, expiresAt: 0 } satisfies Lease), { ifMatch: this.etag }).catch(() => undefined);
  }

  markLost(): void {
    this.lost = true;
  }

  lostError(): LockedError {
    return new LockedError('LOCK_COMPROMISED', `${this.store.url}: this writer's lease was taken over by another writer; it stopped shipping`);
  }
}
