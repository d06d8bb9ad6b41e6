import { ValidationError } from '../../errors.js';
import type { DocumentInfo } from '../../vault/document.js';
import { compileFilter, type Filter } from '../../vault/filter.js';
import { isEmptyFilter, matchingRecords } from '../../vault/matching.js';
import { checkPatch, patchedPayload, type CheckedPatch } from '../../vault/patch.js';
import type { Payload } from '../../vault/payload.js';
import { recordBytes } from '../../vault/stored-record.js';
import type { VaultState } from '../../vault/vault-state.js';
import type { EraseWhereOptions, PatchSpec } from '../../vault/record-types.js';
import type { RecordOp } from '../../format/record-ops-codec.js';
import type { Op } from '../../format/records.js';
import { checkId } from '../../vault/names.js';
import { norm, toVector } from '../../format/vector.js';
import { validatePayload } from '../../vault/payload.js';
import type { DbState } from '../../vault/db-state.js';

/** Builds a validated insert op for the vault numbered `vault` (`doc` makes it an insert_ex). */
export function insertOp(state: DbState, vault: number, id: unknown, vector: unknown, payload: unknown, maxPayloadBytes: number, at = '', doc: DocumentInfo | null = null): Op {
  const checkedId = checkId(id, `${at}id`);
  const vec = toVector(vector, state.identity.dimension, `${at}vector`);
  if (state.identity.metric === 'cosine' && norm(vec) === 0) {
    throw new ValidationError(`${at}vector`, 'is all zeros; cosine similarity is undefined for it');
  }
  const p = validatePayload(payload, maxPayloadBytes);
  return { type: 'insert', vault, id: checkedId, vector: vec, payload: p.payload, payloadBytes: p.bytes, doc };
}

/** What a record looks like to an op being built: its payload and document. */
interface Entry {
  payload: Payload | null;
  doc: DocumentInfo | null;
}

/**
 * The records as an operation being built sees them: the state, plus the record ops built
 * before it in the same db.batch (which apply first). So `[insert x, eraseWhere {...}]` erases x
 * when it matches, and a patchWhere after a patch patches the patched payload. Outside a batch
 * nothing is pending and this is just the state.
 */
export class RecordView {
  private readonly pending = new Map<number, Map<string, Entry | null>>();
  /**
   * Ops noted but not yet folded into `pending`: they are folded when something next reads the
   * view, so a lone eraseWhere (a view used once) builds no map of the ids it erases.
   */
  private unfolded: Op[] = [];

  private fold(): void {
    if (this.unfolded.length === 0) return;
    const ops = this.unfolded;
    this.unfolded = [];
    for (const op of ops) {
      if (op.type === 'insert') this.changes(op.vault).set(op.id, { payload: op.payload, doc: op.doc });
      else if (op.type === 'erase') this.changes(op.vault).set(op.id, null);
      else if (op.type === 'eraseMany') {
        const m = this.changes(op.vault);
        for (const id of op.ids) m.set(id, null);
      }
    }
  }

  private changes(vault: number): Map<string, Entry | null> {
    this.fold();
    let m = this.pending.get(vault);
    if (!m) this.pending.set(vault, (m = new Map()));
    return m;
  }

  get(vault: VaultState, id: string): Entry | undefined {
    this.fold();
    const changed = this.pending.get(vault.number)?.get(id);
    if (changed !== undefined) return changed ?? undefined;
    const r = vault.records.get(id);
    return r ? { payload: r.payload, doc: r.doc } : undefined;
  }

  /** Ids matching `filter`, in code-unit order (the order the log records them in). */
  matching(vault: VaultState, filter: Filter, at: string): string[] {
    const predicate = compileFilter(filter, at);
    this.fold();
    const changed = this.pending.get(vault.number);
    const ids: string[] = [];
    for (const r of matchingRecords(vault, filter, predicate)) if (!changed?.has(r.id)) ids.push(r.id);
    if (changed) for (const [id, e] of changed) if (e && predicate(e.payload, e.doc)) ids.push(id);
    return inOrder(ids) ? ids : ids.sort();
  }

  /** Records what an op built earlier in the batch does to records. Returns the op. */
  note(op: Op): Op {
    if (op.type === 'insert' || op.type === 'erase' || op.type === 'eraseMany') this.unfolded.push(op);
    return op;
  }

  set(vault: number, id: string, entry: Entry): void {
    this.changes(vault).set(id, entry);
  }
}

/**
 * Whether ids are already in code-unit order (`<` on strings compares code units, as sort does).
 * Index entries list labels in insertion order, so ids inserted in order come out sorted, and
 * checking costs a fraction of sorting.
 */
function inOrder(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) if (ids[i - 1]! > ids[i]!) return false;
  return true;
}

function checkFilterObject(filter: unknown, at: string): Filter {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw new ValidationError(`${at}filter`, 'must be an object');
  return filter as Filter;
}

/** eraseWhere: the matching ids, or null when nothing matches (nothing is logged). */
export function eraseWhereOp(view: RecordView, vault: VaultState, filter: unknown, options: EraseWhereOptions | undefined, at = ''): RecordOp | null {
  const f = checkFilterObject(filter, at);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new ValidationError(`${at}options`, 'must be an object');
  const all = options?.all;
  if (all !== undefined && typeof all !== 'boolean') throw new ValidationError(`${at}all`, 'must be a boolean');
  if (isEmptyFilter(f) && all !== true) throw new ValidationError(`${at}filter`, 'is empty and would erase every record; pass { all: true } to mean that');
  const ids = view.matching(vault, f, `${at}filter`);
  if (ids.length === 0) return null;
  const op: RecordOp = { type: 'eraseMany', vault: vault.number, ids };
  view.note(op);
  return op;
}

/**
 * A patch of `ids` (all present in the view): each patched payload is validated (size cap,
 * depth) and its record's new size noted for the quota check, before anything is logged.
 */
function patchOf(view: RecordView, vault: VaultState, ids: string[], patch: CheckedPatch, maxPayloadBytes: number, dimension: number, at: string): RecordOp | null {
  if (ids.length === 0) return null;
  const sizes: number[] = [];
  const results: Entry[] = [];
  for (const id of ids) {
    const entry = view.get(vault, id)!;
    const { payload, bytes } = patchedPayload(entry.payload, patch, maxPayloadBytes, `${at}set`);
    sizes.push(recordBytes({ id, payloadBytes: bytes, doc: entry.doc }, dimension));
    results.push({ payload, doc: entry.doc });
  }
  ids.forEach((id, i) => view.set(vault.number, id, results[i]!));
  return { type: 'patch', vault: vault.number, ids, set: patch.set, setBytes: patch.setBytes, unset: patch.unset, sizes };
}

export function patchOp(view: RecordView, vault: VaultState, id: unknown, spec: PatchSpec | undefined, maxPayloadBytes: number, dimension: number, at = ''): RecordOp | null {
  const checkedId = checkId(id, `${at}id`);
  const patch = checkPatch(spec, maxPayloadBytes, at);
  return patchOf(view, vault, view.get(vault, checkedId) ? [checkedId] : [], patch, maxPayloadBytes, dimension, at);
}

export function patchWhereOp(view: RecordView, vault: VaultState, filter: unknown, spec: PatchSpec | undefined, maxPayloadBytes: number, dimension: number, at = ''): RecordOp | null {
  const f = checkFilterObject(filter, at);
  const patch = checkPatch(spec, maxPayloadBytes, at);
  return patchOf(view, vault, view.matching(vault, f, `${at}filter`), patch, maxPayloadBytes, dimension, at);
}

/**
 * Each record an op changes and its byte size after it (null: erased), for the quota check;
 * null for ops that change no record.
 */
export function sizeEffects(op: Op, dimension: number): { id: string; after: number | null }[] | null {
  switch (op.type) {
    case 'insert':
      return [{ id: op.id, after: recordBytes(op, dimension) }];
    case 'erase':
      return [{ id: op.id, after: null }];
    case 'eraseMany':
      return op.ids.map((id) => ({ id, after: null }));
    case 'patch':
      return op.sizes ? op.ids.map((id, i) => ({ id, after: op.sizes![i]! })) : null;
    default:
      return null;
  }
}

/** The everyday-API operations of db.batch (README "The everyday API: many at once, by filter, page by page"). */
export type RecordBatchOp =
  | ({ op: 'patch'; vault: string; id: string } & PatchSpec)
  | { op: 'eraseWhere'; vault: string; filter: Filter; all?: boolean }
  | ({ op: 'patchWhere'; vault: string; filter: Filter } & PatchSpec);

/**
 * One batch entry as an op. One that changes nothing (no match, no such id) still takes its
 * place: an empty eraseMany or patch applies as nothing, and logging it keeps the batch's shape.
 */
export function recordBatchOp(view: RecordView, vault: VaultState, o: RecordBatchOp, maxPayloadBytes: number, dimension: number, at: string): Op {
  let op: RecordOp | null;
  if (o.op === 'eraseWhere') op = eraseWhereOp(view, vault, o.filter, { ...(o.all !== undefined ? { all: o.all } : {}) }, at);
  else if (o.op === 'patch') op = patchOp(view, vault, o.id, { ...(o.set !== undefined ? { set: o.set } : {}), ...(o.unset !== undefined ? { unset: o.unset } : {}) }, maxPayloadBytes, dimension, at);
  else op = patchWhereOp(view, vault, o.filter, { ...(o.set !== undefined ? { set: o.set } : {}), ...(o.unset !== undefined ? { unset: o.unset } : {}) }, maxPayloadBytes, dimension, at);
  return op ?? { type: 'eraseMany', vault: vault.number, ids: [] };
}
