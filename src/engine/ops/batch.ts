import { ValidationError } from '../../errors.js';
import type { Op } from '../../format/records.js';
import type { DbState } from '../../vault/db-state.js';
import { checkId } from '../../vault/names.js';
import { branchCreateOp, branchDeleteOp, branchUpdateOp, layerCommitOp, pendingFor, tracePutOp, type CommitInput, type Pending, type TraceOptions } from './history-ops.js';
import { insertOp, recordBatchOp, RecordView, type RecordBatchOp } from './record-ops.js';

export type BatchOp =
  | { op: 'insert'; vault: string; id: string; vector: Float32Array | readonly number[]; payload?: Record<string, unknown> | null }
  | { op: 'erase'; vault: string; id: string }
  | ({ op: 'layer.commit'; vault: string } & CommitInput)
  | { op: 'branch.create'; vault: string; name: string; from?: string | null }
  | { op: 'branch.update'; vault: string; name: string; head: string | null; expectedHead?: string | null }
  | { op: 'branch.delete'; vault: string; name: string; force?: boolean }
  | ({ op: 'trace.put'; vault: string; key: string; trace: unknown } & TraceOptions)
  | { op: 'trace.delete'; vault: string; key: string }
  | RecordBatchOp;

/**
 * The validated ops of a batch (db.batch), in order: ops on one vault see the ones before them
 * (a branch created earlier in the batch, a record inserted earlier). `vaultNumber` resolves a
 * vault name, throwing NotFoundError for one that does not exist.
 */
export function batchOps(state: DbState, ops: readonly BatchOp[], maxPayloadBytes: number, vaultNumber: (name: string) => number): Op[] {
  const max = maxPayloadBytes;
  const pending = new Map<number, Pending>();
  const view = new RecordView();
  return ops.map((o, i): Op => {
    const at = `ops[${i}].`;
    if (typeof o !== 'object' || o === null) throw new ValidationError(`ops[${i}]`, 'must be an object');
    const number = vaultNumber(o.vault);
    const vault = state.vaults.get(number)!;
    if (!pending.has(number)) pending.set(number, pendingFor(vault));
    const p = pending.get(number)!;
    switch (o.op) {
      case 'insert':
        return view.note(insertOp(state, number, o.id, o.vector, o.payload, max, at));
      case 'erase':
        return view.note({ type: 'erase', vault: number, id: checkId(o.id, `${at}id`) });
      case 'patch':
      case 'eraseWhere':
      case 'patchWhere':
        return recordBatchOp(view, vault, o, max, state.identity.dimension, at);
      case 'layer.commit':
        return layerCommitOp(vault, p, o, max);
      case 'branch.create':
        return branchCreateOp(vault, p, o.name, o.from ?? null);
      case 'branch.update':
        return branchUpdateOp(vault, p, o.name, o.head, o.expectedHead);
      case 'branch.delete':
        return branchDeleteOp(vault, p, o.name, o.force ?? false);
      case 'trace.put':
        return tracePutOp(vault, o.key, o.trace, o, max);
      case 'trace.delete':
        return { type: 'traceDelete', vault: number, key: checkId(o.key, `${at}key`) };
      default:
        throw new ValidationError(`${at}op`, 'is not a known operation');
    }
  });
}
