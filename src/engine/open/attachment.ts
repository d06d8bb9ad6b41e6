/** What a shipper reports (a writer opened with `replicate`): db.stats().replication. */
export interface ReplicationStats {
  url: string;
  role: 'writer';
  state: 'shipping' | 'retrying' | 'lost' | 'stopped';
  generation: string;
  localLsn: number;
  shippedLsn: number;
  lagLsn: number;
  lagSeconds: number;
  lastShippedAt: string | null;
  chunksShipped: number;
  bytesShipped: number;
  errors: number;
  lastError: string | null;
}

/** What a follower reports (an s3:// replica): db.stats().replication. */
export interface ReplicaStats {
  url: string;
  role: 'replica';
  /** The root sequence this replica follows. */
  sequence: number;
  checkpointLsn: number;
  /** The last LSN in the local cache (a refresh makes it visible). */
  cachedLsn: number;
  /** The last LSN the bucket's root says is shipped. */
  shippedLsn: number;
  lagLsn: number;
  /** Seconds since this replica last held everything the root named. */
  lagSeconds: number;
  syncs: number;
  errors: number;
  lastError: string | null;
}

/** Object-storage shipping (a writer opened with `replicate`) or following (an s3:// replica). */
export type ReplicationStatus = ReplicationStats | ReplicaStats;

/** @internal What object-storage replication (src/replica) hooks into a handle: the log before a checkpoint resets it, a reader's refresh, stats, close. */
export interface Attachment {
  beforeLogReset?(): Promise<void>;
  beforeRefresh?(): Promise<void>;
  status(lastLsn: number): ReplicationStatus;
  close(): Promise<void>;
}
