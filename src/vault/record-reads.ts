import { ValidationError } from '../errors.js';
import { checkId } from './names.js';
import { compileFilter, type Filter } from './filter.js';
import { accepts, countMatching } from './matching.js';
import { clonePayload } from './payload.js';
import { answeredByIndexes, candidates } from './payload-index.js';
import type { StoredRecord } from './stored-record.js';
import type { VaultState } from './vault-state.js';
import type { RecordOutput, ScannedRecord, ScanOptions, ScanPage } from './record-types.js';
import { byCodeUnits } from '../util/code-units.js';

export const MAX_SCAN_LIMIT = 10_000;

/** A caller's copy of a record (payload and document copied; the vector too, when asked for). */
export function recordOutput(record: StoredRecord, withVector: true): RecordOutput;
export function recordOutput(record: StoredRecord, withVector: boolean): ScannedRecord;
export function recordOutput(record: StoredRecord, withVector: boolean): ScannedRecord {
  const out: ScannedRecord = {
    id: record.id,
    payload: record.payload === null ? null : clonePayload(record.payload),
    lsn: record.lsn,
    document: record.doc ? structuredClone(record.doc) : null,
  };
  if (withVector) out.vector = record.vector.slice();
  return out;
}

export function getMany(vault: VaultState, ids: readonly string[]): (RecordOutput | null)[] {
  if (!Array.isArray(ids)) throw new ValidationError('ids', 'must be an array of ids');
  const checked = ids.map((id, i) => checkId(id, `ids[${i}]`));
  return checked.map((id) => {
    const r = vault.records.get(id);
    return r ? recordOutput(r, true) : null;
  });
}

export function countRecords(vault: VaultState, filter: Filter | undefined): number {
  if (filter === undefined) return vault.records.count;
  return countMatching(vault, filter);
}

export interface CheckedScan {
  filter: Filter | undefined;
  limit: number;
  after: string | null;
  withVectors: boolean;
}

export function checkScanOptions(options: ScanOptions | undefined, limitField = 'limit', defaultLimit = 100): CheckedScan {
  if (options === undefined) return { filter: undefined, limit: defaultLimit, after: null, withVectors: false };
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'must be an object');
  const limit = (options as Record<string, unknown>)[limitField] ?? defaultLimit;
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_SCAN_LIMIT) throw new ValidationError(limitField, `must be an integer from 1 to ${MAX_SCAN_LIMIT}`);
  const after = options.after ?? null;
  if (after !== null) checkId(after, 'after');
  const withVectors = options.withVectors ?? false;
  if (typeof withVectors !== 'boolean') throw new ValidationError('withVectors', 'must be a boolean');
  if (options.filter !== undefined) compileFilter(options.filter);
  return { filter: options.filter, limit: limit as number, after, withVectors };
}

/**
 * One page in id order after the cursor. A filter that payload indexes narrow to a small set
 * pages through that set (sorted once per page); any other filter runs along the id order.
 */
export function scanRecords(vault: VaultState, o: CheckedScan): ScanPage {
  let page: { records: StoredRecord[]; more: boolean };
  const predicate = o.filter === undefined ? null : compileFilter(o.filter);
  const narrowed = o.filter !== undefined && vault.payloadIndexes.size > 0 ? candidates(o.filter, vault.payloadIndexes) : null;
  if (predicate && narrowed && narrowed.size * 8 < vault.records.count) {
    const exact = answeredByIndexes(o.filter, vault.payloadIndexes);
    const after = o.after;
    const found: StoredRecord[] = [];
    for (const label of narrowed) {
      const r = vault.records.byLabelGet(label);
      if (r && (after === null || r.id > after) && (exact || accepts(predicate, r))) found.push(r);
    }
    found.sort((a, b) => byCodeUnits(a.id, b.id));
    page = { records: found.slice(0, o.limit), more: found.length > o.limit };
  } else {
    page = vault.records.idOrder().page(o.after, o.limit, predicate && ((r) => accepts(predicate, r)));
  }
  const records = page.records.map((r) => recordOutput(r, o.withVectors));
  return { records, next: page.more ? records[records.length - 1]!.id : null };
}
