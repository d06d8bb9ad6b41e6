import type { ReplicationStats } from '../engine/open/attachment.js';

export interface ShipperOptions {
  /** Cut a log chunk at least this often (default 1000 ms). */
  intervalMs: number;
  /** The writer lease lasts this long unless renewed (default 30 s; renewed every third of it). */
  leaseMs: number;
  /** Take over a lease that expired (never a live one). */
  takeover: boolean;
  /** An object no root needs any more is deleted this long after it became unneeded (default 60 s). */
  graceMs: number;
  /** Checkpoints and log kept for point-in-time restore (default 24 h). */
  retainMs: number;
  /** The writer's last LSN, when the shipper runs inside the writer. */
  localLsn?: () => number;
  /** No background rounds: the caller ships with shipOnce() (quiver backup). */
  manual?: boolean;
  /**
   * Beside a writer in another process (quiver replicate): hold a reader lease that asks the
   * writer to keep each log generation its checkpoints replace (FORMAT.md "wal.kept/").
   */
  external?: boolean;
}

/** close()'s bound on shipping what is left (README "Beyond one machine: object storage"). */
export const STOP_MS = 10_000;
/** Then the lease's release has this long; a shipping thread is ended after both and a margin. */
export const RELEASE_MS = 2000;

/** What a shipper reports: defined beside the Attachment it is reported through (db.stats().replication). */
export type { ReplicationStats } from '../engine/open/attachment.js';

/**
 * A shipper's state as data, without the writer's LSN: what a shipping thread posts to the
 * writer after every change (ship-thread.ts), so that stats() stays synchronous there.
 */
export interface ShipProgress {
  url: string;
  generation: string;
  /** The highest LSN the shipper has read in the log. */
  seen: number;
  /** Named by a root the store accepted. */
  shippedLsn: number;
  /** When the oldest frame read and not yet named by a root was read (ms), or null. */
  since: number | null;
  stats: Pick<ReplicationStats, 'state' | 'lastShippedAt' | 'chunksShipped' | 'bytesShipped' | 'errors' | 'lastError'>;
}

/**
 * When stats() first saw the writer's last LSN ahead of a shipped LSN that has not moved since:
 * a round stuck on the store before it read the newest frames has no time of its own for them,
 * and lagSeconds would read 0 while lagLsn grows. Never earlier than the truth (it starts at a
 * stats() call), and restarted whenever the shipped LSN moves.
 */
export interface LagClock {
  since: number | null;
  shippedLsn: number;
}

/** stats().replication from a shipper's progress and the writer's last LSN (0: not known). */
export function replicationStatus(p: ShipProgress, lastLsn: number, clock?: LagClock, now = Date.now()): ReplicationStats {
  const localLsn = Math.max(lastLsn, p.seen);
  const lagLsn = Math.max(0, localLsn - p.shippedLsn);
  let since = p.since;
  if (clock) {
    if (lagLsn === 0 || clock.shippedLsn !== p.shippedLsn) clock.since = null;
    clock.shippedLsn = p.shippedLsn;
    if (lagLsn > 0) clock.since ??= now;
    if (clock.since !== null) since = Math.min(since ?? now, clock.since);
  }
  return {
    url: p.url,
    role: 'writer',
    generation: p.generation,
    localLsn,
    shippedLsn: p.shippedLsn,
    lagLsn,
    lagSeconds: since === null || lagLsn === 0 ? 0 : (now - since) / 1000,
    ...p.stats,
  };
}
