/**
 * The writes test/crash/checkpoint-writes.test.ts runs against checkpoints made in slices, and
 * the state they must leave: write `n` is opOf(n), called in order of n (each takes its slot in
 * the write order when called), so after any prefix of them the records are modelOf(prefix).
 */
import type { Vault } from '../../src/index.js';

export const DIM = 8;
/** Records written before the run and checkpointed: rows of the loaded segment. */
export const BASE = 1500;

export function vectorOf(n: number): Float32Array {
  return Float32Array.from({ length: DIM }, (_, i) => Math.sin(n * 0.37 + i) + 1.5);
}

export type Op =
  | { kind: 'insert'; id: string; n: number }
  | { kind: 'erase'; id: string }
  | { kind: 'patch'; id: string; n: number };

/** Inserts of new ids, upserts and patches of base rows and new records, erases of both. */
export function opOf(n: number): Op {
  switch (n % 6) {
    case 0:
      return { kind: 'insert', id: `n${n}`, n };
    case 1:
      return { kind: 'insert', id: `b${(n * 7) % BASE}`, n };
    case 2:
      return { kind: 'erase', id: `b${(n * 13) % BASE}` };
    case 3:
      return { kind: 'patch', id: `b${(n * 3) % BASE}`, n };
    case 4:
      return { kind: 'patch', id: `n${n - 4}`, n };
    default:
      return { kind: 'erase', id: `n${n - 11}` };
  }
}

export async function apply(v: Vault, op: Op): Promise<void> {
  if (op.kind === 'insert') await v.insert(op.id, vectorOf(op.n), { n: op.n });
  else if (op.kind === 'erase') await v.erase(op.id);
  else await v.patch(op.id, { set: { [`p${op.n % 3}`]: op.n } });
}

export interface Row {
  /** The n whose vector the record holds. */
  vector: number;
  payload: Record<string, unknown>;
}

/** The records after the base and writes 0 .. count - 1. */
export function modelOf(count: number): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (let b = 0; b < BASE; b++) rows.set(`b${b}`, { vector: -1 - b, payload: { base: b } });
  for (let n = 0; n < count; n++) step(rows, n);
  return rows;
}

/** Applies write `n` to a model; returns the id it touched. */
export function step(rows: Map<string, Row>, n: number): string {
  const op = opOf(n);
  const row = rows.get(op.id);
  if (op.kind === 'insert') rows.set(op.id, { vector: op.n, payload: { n: op.n } });
  else if (op.kind === 'erase') rows.delete(op.id);
  else if (row) rows.set(op.id, { vector: row.vector, payload: { ...row.payload, [`p${op.n % 3}`]: op.n } });
  return op.id;
}

/**
 * The number of writes from `least` on after which the model is exactly the vault, or null (none
 * up to `least + most`): one pass, each write updating the set of ids where the two differ.
 */
export function prefixOf(v: Vault, least: number, most: number): number | null {
  const actual = new Map<string, string>();
  const ids = v.ids();
  if (new Set(ids).size !== ids.length || v.count() !== ids.length) return null;
  for (const id of ids) {
    const got = v.get(id)!;
    actual.set(id, `${got.vector[0]}|${JSON.stringify(got.payload)}`);
  }
  const model = modelOf(least);
  const keyOf = (id: string) => {
    const row = model.get(id);
    return row ? `${vectorOf(row.vector)[0]}|${JSON.stringify(row.payload)}` : undefined;
  };
  const differ = new Set<string>();
  for (const id of new Set([...actual.keys(), ...model.keys()])) if (keyOf(id) !== actual.get(id)) differ.add(id);
  for (let count = least; count <= least + most; count++) {
    if (differ.size === 0) return count;
    const id = step(model, count);
    if (keyOf(id) === actual.get(id)) differ.delete(id);
    else differ.add(id);
  }
  return null;
}

/** The vector record `b` of the base holds (vectorOf of a negative n). */
export function baseVector(b: number): Float32Array {
  return vectorOf(-1 - b);
}

/** What differs between the vault and `model` (empty when they match): each id once, vector and payload. */
export function differences(v: Vault, model: Map<string, Row>): string[] {
  const out: string[] = [];
  const ids = v.ids();
  if (new Set(ids).size !== ids.length) out.push('an id is listed twice');
  if (ids.length !== model.size || v.count() !== model.size) out.push(`${ids.length} ids listed, count ${v.count()}, ${model.size} expected`);
  for (const [id, row] of model) {
    const got = v.get(id);
    if (!got) {
      out.push(`${id} is missing`);
      continue;
    }
    if (got.vector[0] !== vectorOf(row.vector)[0]) out.push(`${id} holds another vector`);
    if (JSON.stringify(got.payload) !== JSON.stringify(row.payload)) out.push(`${id} payload ${JSON.stringify(got.payload)}, expected ${JSON.stringify(row.payload)}`);
  }
  for (const id of ids) if (!model.has(id)) out.push(`${id} should not be there`);
  return out.slice(0, 10);
}
