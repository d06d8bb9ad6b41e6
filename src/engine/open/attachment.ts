import type { ReplicationStats } from '../../replica/shipper.js';
import type { ReplicaStats } from '../../replica/follower.js';

/** Object-storage shipping (a writer opened with `replicate`) or following (an s3:// replica). */
export type ReplicationStatus = ReplicationStats | ReplicaStats;

/** @internal What object-storage replication (src/replica) hooks into a handle: the log before a checkpoint resets it, a reader's refresh, stats, close. */
export interface Attachment {
  beforeLogReset?(): Promise<void>;
  beforeRefresh?(): Promise<void>;
  status(lastLsn: number): ReplicationStatus;
  close(): Promise<void>;
}
