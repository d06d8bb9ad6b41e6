import { RecordStore } from '../../vault/record-store.js';
import { createIndex } from '../../vault/vault-state.js';
import { vectorsLoaded } from '../../vault/db-state.js';
import type { DatabaseCore } from '../open/parts.js';
import type { CheckpointResult } from './checkpoint.js';
import { checkpointNow } from './run-checkpoint.js';

export interface CompactResult extends CheckpointResult {
  /** Graph slots of erased records that the rebuild dropped. */
  slotsFreed: number;
  /** Layers no branch reached, collected. */
  layersFreed: number;
}

/** @internal Rebuilds every vault's index from its records (erased records leave no trace), then checkpoints; in an exclusive slot. */
export async function compact(core: DatabaseCore): Promise<CompactResult> {
  const state = core.parts.state;
  await vectorsLoaded(state);
  let slotsFreed = 0;
  for (const vault of state.vaults.values()) {
    const records = [...vault.records.values()].sort((a, b) => a.label - b.label);
    const before = vault.index.elementCount;
    const store = new RecordStore(vault.dimension);
    const index = createIndex(state.identity.index, state.identity.metric, vault.dimension);
    records.forEach((r, label) => {
      store.put(r.with({ label }));
      index.add(label, r.vector);
    });
    await index.drain();
    slotsFreed += Math.max(0, before - records.length);
    vault.records = store;
    vault.index = index;
    vault.reindexPayloads();
    vault.segmentLsn = -1;
  }
  return { ...(await checkpointNow(core, true)), slotsFreed };
}
