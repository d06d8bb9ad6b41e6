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

/** What a shipper reports: defined beside the Attachment it is reported through (db.stats().replication). */
export type { ReplicationStats } from '../engine/open/attachment.js';
