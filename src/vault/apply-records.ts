import { encode } from '../format/codec.js';
import { applyPatch } from './patch.js';
import type { VaultState } from './vault-state.js';
import type { RecordOp } from '../format/record-ops-codec.js';
import type { StoredRecord } from './stored-record.js';
import { documentIdOf } from './document.js';

/**
 * Puts `record` in the vault's store, text index and payload indexes, over `existing` (the record
 * it replaces, same id), but not in the graph: an insert's (the caller adds the vector) and, at
 * open, a delta segment's records (`delta` its file), whose graph already holds them (FORMAT.md
 * "Delta segments"), put by label (RecordStore.putLabelled).
 */
export function storeRecord(vault: VaultState, record: StoredRecord, existing: StoredRecord | undefined, delta?: string): void {
  indexRecord(vault, record, existing);
  if (delta === undefined) vault.records.put(record);
  else vault.records.putLabelled(record, delta);
}

/**
 * storeRecord's part in the text index and payload indexes: also, at open, for each record a
 * delta segment's rows hold in the store already (a RecordChain's tail), with no `existing`.
 */
export function indexRecord(vault: VaultState, record: StoredRecord, existing: StoredRecord | undefined): void {
  const { id, doc, label } = record;
  if (doc) vault.text.add(id, doc.text, existing?.doc?.text ?? null, documentIdOf(id, doc));
  else if (existing?.doc) vault.text.remove(id, existing.doc.text);
  for (const index of vault.payloadIndexes.values()) {
    if (existing) index.remove(existing.label);
    index.add(label, record.payload);
  }
}

/** Takes the record holding `label` out of the store, text index and payload indexes (not the graph): a delta segment's ERASED at open. False when no record holds it. */
export function unstoreLabel(vault: VaultState, label: number): boolean {
  const old = vault.records.deleteLabel(label);
  if (!old) return false;
  if (old.doc) vault.text.remove(old.id, old.doc.text);
  for (const index of vault.payloadIndexes.values()) index.remove(label);
  return true;
}

/**
 * Erases each id as 'erase' does (graph, text index, payload indexes, store): the store, graph
 * and text index id by id, then each payload index once for all the labels (removeMany).
 */
export function applyEraseMany(vault: VaultState, ids: readonly string[], lsn: number): void {
  vault.version++;
  const labels: number[] = [];
  for (const id of ids) {
    const old = vault.records.delete(id);
    if (!old) continue;
    vault.index.remove(old.label);
    if (old.doc) vault.text.remove(id, old.doc.text);
    labels.push(old.label);
  }
  for (const index of vault.payloadIndexes.values()) index.removeMany(labels);
  vault.lsn = lsn;
}

/**
 * Applies a patch (live and on replay alike): each id's payload is recomputed from the payload
 * the log has rebuilt so far, so replay reproduces the live result byte for byte. Only the
 * payload changes: same label, same vector, same document; the graph and the text index are
 * not touched, the payload indexes are. An id that is gone is skipped (the writer resolved the
 * ids against the state this record applies to, so that happens only in a hand-made log).
 */
export function applyPatchOp(vault: VaultState, op: Extract<RecordOp, { type: 'patch' }>, lsn: number): void {
  vault.version++;
  for (const id of op.ids) {
    const old = vault.records.get(id);
    if (!old) continue;
    const payload = applyPatch(old.payload, op);
    const record = old.withPayload(encode(payload), payload, lsn);
    for (const index of vault.payloadIndexes.values()) {
      index.remove(old.label);
      index.add(old.label, payload);
    }
    vault.records.put(record);
  }
  vault.lsn = lsn;
}
