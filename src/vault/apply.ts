import type { Op } from '../format/records.js';
import { createIndex, VaultState } from './vault-state.js';
import { PayloadIndex } from './payload-index.js';
import { StoredRecord } from './stored-record.js';
import type { DbState } from './db-state.js';
import { applyEraseMany, applyPatchOp, storeRecord } from './apply-records.js';

/**
 * Applies one validated operation to memory. The live path and WAL replay share this, so a
 * replayed log rebuilds exactly what the live writer had. Returns false when the operation
 * names a vault that does not exist (replay treats that as corruption; live calls never do it).
 */
export function applyOp(state: DbState, op: Op, lsn: number): boolean {
  const { identity } = state;
  switch (op.type) {
    case 'vaultCreate': {
      if (state.vaults.has(op.vault) || state.names.has(op.name)) return false;
      const index = createIndex(identity.index, identity.metric, identity.dimension);
      state.vaults.set(op.vault, new VaultState(op.vault, op.name, op.quota, identity.dimension, index, lsn));
      state.names.set(op.name, op.vault);
      state.nextVaultNumber = Math.max(state.nextVaultNumber, op.vault + 1);
      return true;
    }
    case 'vaultDrop': {
      const vault = state.vaults.get(op.vault);
      if (!vault) return false;
      state.vaults.delete(op.vault);
      state.names.delete(vault.name);
      return true;
    }
    case 'insert': {
      const vault = state.vaults.get(op.vault);
      if (!vault) return false;
      vault.version++;
      const existing = vault.records.get(op.id);
      const label = existing ? existing.label : vault.records.nextLabel;
      storeRecord(vault, new StoredRecord(op.id, label, op.vector, op.payloadBytes, lsn, op.doc, op.payload), existing);
      vault.index.add(label, op.vector);
      vault.lsn = lsn;
      return true;
    }
    case 'erase': {
      const vault = state.vaults.get(op.vault);
      if (!vault) return false;
      vault.version++;
      const old = vault.records.delete(op.id);
      if (old) vault.index.remove(old.label);
      if (old?.doc) vault.text.remove(op.id, old.doc.text);
      if (old) for (const index of vault.payloadIndexes.values()) index.remove(old.label);
      vault.lsn = lsn;
      return true;
    }
    case 'eraseMany': {
      const vault = state.vaults.get(op.vault);
      if (vault) applyEraseMany(vault, op.ids, lsn);
      return vault !== undefined;
    }
    case 'patch': {
      const vault = state.vaults.get(op.vault);
      if (vault) applyPatchOp(vault, op, lsn);
      return vault !== undefined;
    }
    default:
      return applyHistoryOp(state, op, lsn);
  }
}

/** Layers, branches and traces. */
function applyHistoryOp(state: DbState, op: Exclude<Op, { type: 'insert' | 'erase' | 'vaultCreate' | 'vaultDrop' | 'eraseMany' | 'patch' }>, lsn: number): boolean {
  const vault = state.vaults.get(op.vault);
  if (!vault) return false;
  vault.lsn = lsn;
  switch (op.type) {
    case 'layerCommit':
      if (op.layer.parent !== null && !vault.layers.get(op.layer.parent)) return false;
      vault.layers.add(op.layer);
      if (op.move !== null) vault.layers.branches.set(op.move, op.layer.id);
      return true;
    case 'layerDrop':
      vault.layers.drop(op.id);
      return true;
    case 'branchSet':
      vault.layers.branches.set(op.name, op.head);
      return true;
    case 'branchDelete':
      vault.layers.branches.delete(op.name);
      return true;
    case 'tracePut':
      vault.traces.put(op.trace);
      return true;
    case 'traceDelete':
      vault.traces.delete(op.key);
      return true;
    case 'retentionSet':
      vault.traces.retention = { ...op.retention };
      return true;
    case 'indexCreate':
      vault.version++;
      if (!vault.payloadIndexes.has(op.field)) {
        vault.payloadIndexes.set(op.field, new PayloadIndex(op.field));
        vault.reindexPayloads();
      }
      return true;
    case 'indexDrop':
      vault.version++;
      vault.payloadIndexes.delete(op.field);
      return true;
  }
}
