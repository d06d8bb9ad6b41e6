/**
 * The model-based test's operations: plain JSON descriptors (so a child process can run the
 * same ones), a generator of random ones, how each changes the oracle (and what it returns or
 * raises), and how each is run against a database.
 */
import type { Database } from '../../src/index.js';

export const DIM = 8;
const IDS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
const VAULTS = ['a', 'b'];

export type ModelOp =
  | { kind: 'insert'; vault: string; id: string; n: number }
  | { kind: 'insertMany'; vault: string; ids: string[]; n: number; bad: boolean }
  | { kind: 'erase'; vault: string; id: string }
  | { kind: 'batch'; ops: ({ op: 'insert'; vault: string; id: string; n: number } | { op: 'erase'; vault: string; id: string })[] }
  | { kind: 'createVault'; vault: string }
  | { kind: 'dropVault'; vault: string }
  | { kind: 'tracePut'; vault: string; key: string; n: number }
  | { kind: 'traceDelete'; vault: string; key: string };

/** The logical state: per vault, id -> the `n` its payload holds, and its trace keys -> n. */
export interface Oracle {
  vaults: Map<string, { records: Map<string, number>; traces: Map<string, number> }>;
}

export type Outcome = { ok: unknown } | { error: string };

export function emptyOracle(): Oracle {
  return { vaults: new Map() };
}

export function cloneOracle(o: Oracle): Oracle {
  return { vaults: new Map([...o.vaults].map(([name, v]) => [name, { records: new Map(v.records), traces: new Map(v.traces) }])) };
}

export function vector(n: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.sin(n * 13 + i) + 1.25);
}

/** A random operation; `n` makes its values unique. */
export function randomOp(r: () => number, n: number): ModelOp {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const vault = r() < 0.75 ? 'a' : 'b';
  const id = pick(IDS);
  const x = r();
  if (x < 0.3) return { kind: 'insert', vault, id, n };
  if (x < 0.42) return { kind: 'insertMany', vault, ids: [id, pick(IDS), pick(IDS)], n, bad: r() < 0.1 };
  if (x < 0.6) return { kind: 'erase', vault, id };
  if (x < 0.72) return { kind: 'batch', ops: [{ op: 'insert', vault: pick(VAULTS), id, n }, { op: 'erase', vault: pick(VAULTS), id: pick(IDS) }, { op: 'insert', vault, id: pick(IDS), n: n + 0.5 }] };
  if (x < 0.77) return { kind: 'createVault', vault: pick(VAULTS) };
  if (x < 0.8) return { kind: 'dropVault', vault: 'b' };
  if (x < 0.9) return { kind: 'tracePut', vault, key: id, n };
  return { kind: 'traceDelete', vault, key: id };
}

/** Applies `op` to the oracle (in call order) and returns what the database must answer. */
export function applyToOracle(o: Oracle, op: ModelOp): Outcome {
  const vault = 'vault' in op ? o.vaults.get(op.vault) : undefined;
  switch (op.kind) {
    case 'insert':
      if (!vault) return { error: 'NotFoundError' };
      vault.records.set(op.id, op.n);
      return { ok: undefined };
    case 'insertMany':
      if (!vault) return { error: 'NotFoundError' };
      if (op.bad) return { error: 'ValidationError' };
      for (const id of op.ids) vault.records.set(id, op.n);
      return { ok: undefined };
    case 'erase':
      if (!vault) return { error: 'NotFoundError' };
      return { ok: vault.records.delete(op.id) };
    case 'batch':
      if (!op.ops.every((b) => o.vaults.has(b.vault))) return { error: 'NotFoundError' };
      for (const b of op.ops) {
        const records = o.vaults.get(b.vault)!.records;
        if (b.op === 'insert') records.set(b.id, b.n);
        else records.delete(b.id);
      }
      return { ok: undefined };
    case 'createVault':
      if (vault) return { error: 'ConflictError' };
      o.vaults.set(op.vault, { records: new Map(), traces: new Map() });
      return { ok: undefined };
    case 'dropVault':
      if (!vault) return { error: 'NotFoundError' };
      o.vaults.delete(op.vault);
      return { ok: undefined };
    case 'tracePut':
      if (!vault) return { error: 'NotFoundError' };
      vault.traces.set(op.key, op.n);
      return { ok: undefined };
    case 'traceDelete':
      if (!vault) return { error: 'NotFoundError' };
      return { ok: vault.traces.delete(op.key) };
  }
}

/**
 * Runs `op` on the database and returns its promise. Vault 'a' is never dropped, so its calls
 * go through its handle; vault 'b' comes and goes, so its writes go through db.batch, which
 * names the vault and resolves it in write order (a handle taken now would name the vault as
 * it is now, before the earlier calls still queued have run).
 */
export function applyToDb(db: Database, op: ModelOp): Promise<unknown> {
  const handle = () => db.vault(op.kind === 'batch' ? 'a' : (op as { vault: string }).vault);
  switch (op.kind) {
    case 'insert':
      if (op.vault === 'a') return handle().insert(op.id, vector(op.n), { n: op.n });
      return db.batch([{ op: 'insert', vault: op.vault, id: op.id, vector: vector(op.n), payload: { n: op.n } }]);
    case 'insertMany':
      if (op.vault !== 'a') {
        const ops = op.ids.map((id) => ({ op: 'insert' as const, vault: op.vault, id, vector: op.bad ? [] : vector(op.n), payload: { n: op.n } }));
        return db.batch(op.bad ? [...ops.slice(0, 1), { op: 'insert', vault: op.vault, id: 'x', vector: [1], payload: null }] : ops);
      }
      return handle().insertMany([...op.ids.map((id) => ({ id, vector: vector(op.n), payload: { n: op.n } })), ...(op.bad ? [{ id: 'bad', vector: [1] }] : [])]);
    case 'erase':
      if (op.vault === 'a') return handle().erase(op.id);
      return eraseByBatch(db, op.vault, op.id);
    case 'batch':
      return db.batch(op.ops.map((b) => (b.op === 'insert' ? { op: 'insert', vault: b.vault, id: b.id, vector: vector(b.n), payload: { n: b.n } } : b)));
    case 'createVault':
      return db.createVault(op.vault).then(() => undefined);
    case 'dropVault':
      return db.dropVault(op.vault);
    case 'tracePut':
      if (op.vault === 'a') return handle().traces.put(op.key, { n: op.n });
      return db.batch([{ op: 'trace.put', vault: op.vault, key: op.key, trace: { n: op.n } }]);
    case 'traceDelete':
      if (op.vault === 'a') return handle().traces.delete(op.key);
      return traceDeleteByBatch(db, op.vault, op.key);
  }
}

/** An erase through db.batch, which does not say whether the record existed: null (not compared). */
async function eraseByBatch(db: Database, vault: string, id: string): Promise<null> {
  await db.batch([{ op: 'erase', vault, id }]);
  return null;
}

async function traceDeleteByBatch(db: Database, vault: string, key: string): Promise<null> {
  await db.batch([{ op: 'trace.delete', vault, key }]);
  return null;
}

/** The database's logical state in the oracle's shape. */
export function stateOf(db: Database): Record<string, { records: [string, number][]; traces: [string, number][] }> {
  const out: Record<string, { records: [string, number][]; traces: [string, number][] }> = {};
  for (const info of db.vaults()) {
    const v = db.vault(info.name);
    out[info.name] = {
      records: v.ids().map((id) => [id, (v.get(id)!.payload as { n: number }).n]),
      traces: v.traces.list({ withTrace: true }).map((t) => [t.key, (t.trace as { n: number }).n] as [string, number]).sort(([x], [y]) => (x < y ? -1 : 1)),
    };
  }
  return out;
}

export function expectedState(o: Oracle): ReturnType<typeof stateOf> {
  const out: ReturnType<typeof stateOf> = {};
  const sort = (m: Map<string, number>) => [...m].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  for (const name of [...o.vaults.keys()].sort()) out[name] = { records: sort(o.vaults.get(name)!.records), traces: sort(o.vaults.get(name)!.traces) };
  return out;
}
