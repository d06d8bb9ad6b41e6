/**
 * Model-based test of the everyday API: random sequences of insert, erase, eraseWhere, patch,
 * patchWhere, batches of them, checkpoint and reopen, against a plain Map. After every step
 * get, getMany, count(filter), scan paging and exact search must agree with the model.
 * `npm test` runs 10 seeds x 500 steps; `npm run soak:everyday` runs more
 * (QUIVER_MODEL_SEEDS, QUIVER_MODEL_STEPS).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, type BatchOp, type Database, type Filter, type PatchSpec, type Payload } from '../../src/index.js';
import { seededRandom } from '../../src/util/random.js';
import { dbPath } from '../helpers/tmp.js';

const SEEDS = Number(process.env.QUIVER_MODEL_SEEDS ?? 10);
const STEPS = Number(process.env.QUIVER_MODEL_STEPS ?? 500);
const DIM = 4;
const TAGS = ['t1', 't2', 't10', 'u'];

type Value = null | boolean | number | string | Value[] | { [k: string]: Value };
type Obj = { [k: string]: Value };
interface Row {
  vector: Float32Array;
  payload: Obj | null;
}

// ---- the model: its own filter and patch semantics, written from the README, not from src ----

function at(payload: Obj | null, path: string): Value | undefined {
  let cur: Value | undefined = payload ?? undefined;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function matches(f: Filter, p: Obj | null): boolean {
  return Object.entries(f).every(([key, cond]) => {
    if (key === '$not') return !matches(cond as Filter, p);
    if (key === '$or') return (cond as Filter[]).some((c) => matches(c, p));
    const v = at(p, key);
    const any = (test: (x: Value | undefined) => boolean) => (Array.isArray(v) ? v.some(test) : test(v));
    if (cond === null || typeof cond !== 'object') return any((x) => x === cond);
    return Object.entries(cond as Record<string, unknown>).every(([op, arg]) => {
      switch (op) {
        case '$in': return any((x) => (arg as Value[]).includes(x as Value));
        case '$gte': return typeof v === 'number' && v >= (arg as number);
        case '$lt': return typeof v === 'number' && v < (arg as number);
        case '$exists': return (v !== undefined) === arg;
        case '$all': return Array.isArray(v) ? (arg as Value[]).every((a) => v.includes(a)) : (arg as Value[]).every((a) => v === a);
        case '$size': return Array.isArray(v) && v.length === arg;
        case '$prefix': return any((x) => typeof x === 'string' && x.startsWith(arg as string));
        default: throw new Error(`model: ${op}`);
      }
    });
  });
}

function patched(p: Obj | null, spec: PatchSpec): Obj {
  const out: Obj = structuredClone(p ?? {});
  for (const [path, value] of Object.entries(spec.set ?? {})) {
    const keys = path.split('.');
    let cur = out;
    for (const k of keys.slice(0, -1)) {
      const next = cur[k];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
      cur = cur[k] as Obj;
    }
    cur[keys[keys.length - 1]!] = structuredClone(value as Value);
  }
  for (const path of spec.unset ?? []) {
    const keys = path.split('.');
    let cur: Value | undefined = out;
    for (const k of keys.slice(0, -1)) cur = cur && typeof cur === 'object' && !Array.isArray(cur) ? cur[k] : undefined;
    if (cur && typeof cur === 'object' && !Array.isArray(cur)) delete cur[keys[keys.length - 1]!];
  }
  return out;
}

// ---- random inputs ----

function generators(seed: number) {
  const r = seededRandom(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const id = () => `id${int(40)}`;
  const payload = (): Obj | null => {
    if (r() < 0.1) return null;
    const p: Obj = { tag: pick(TAGS), n: int(10) };
    if (r() < 0.7) p.arr = ['a', 'b', 'c'].filter(() => r() < 0.5);
    if (r() < 0.6) p.meta = { k: int(4), ...(r() < 0.3 ? { deep: { x: int(3) } } : {}) };
    return p;
  };
  const filter = (): Filter => {
    const f = pick<() => Filter>([
      () => ({ tag: pick(TAGS) }),
      () => ({ n: { $gte: int(10) } }),
      () => ({ n: { $lt: int(10) }, tag: pick(TAGS) }),
      () => ({ arr: { $all: ['a', 'b'].slice(0, 1 + int(2)) } }),
      () => ({ arr: { $size: int(3) } }),
      () => ({ arr: 'c' }),
      () => ({ tag: { $prefix: 't1' } }),
      () => ({ 'meta.k': { $in: [int(4), int(4)] } }),
      () => ({ 'meta.deep.x': { $exists: r() < 0.5 } }),
      () => ({ $not: { tag: pick(TAGS) } }),
      () => ({ $or: [{ tag: pick(TAGS) }, { n: int(10) }] }),
      () => ({ seen: true }),
    ]);
    return f();
  };
  const spec = (): PatchSpec => {
    const s = pick<() => PatchSpec>([
      () => ({ set: { 'meta.k': int(4) } }),
      () => ({ set: { seen: r() < 0.5, tag: pick(TAGS) } }),
      () => ({ set: { 'meta.deep.x': int(3) }, unset: ['arr'] }),
      () => ({ unset: ['meta.k', 'n'] }),
      () => ({ set: { arr: ['a', 'b', 'c'].filter(() => r() < 0.5) } }),
      () => ({ set: { 'tag.sub': 1 } }),
      () => ({ set: { n: int(10) }, unset: ['meta'] }),
    ]);
    return s();
  };
  const vector = () => Float32Array.from({ length: DIM }, () => r() * 2 - 1);
  return { r, int, pick, id, payload, filter, spec, vector };
}

async function runSeed(seed: number): Promise<void> {
  const g = generators(seed);
  const dir = dbPath();
  const options = { dimension: DIM, metric: 'l2' as const, storage: seed % 3 === 2 ? ('snapshot' as const) : ('segmented' as const), autoCheckpointBytes: 0 };
  let db: Database = await open(dir, options);
  await db.createVault('m');
  const model = new Map<string, Row>();
  const step = (n: number, what: string) => `seed ${seed} step ${n}: ${what}`;

  // One record op against the model; returns the batch op that does the same.
  const recordOp = (): { apply: () => void; op: BatchOp; what: string } => {
    const kind = g.int(10);
    if (kind < 4) {
      const id = g.id();
      const vector = g.vector();
      const payload = g.payload();
      return { what: `insert ${id}`, op: { op: 'insert', vault: 'm', id, vector, payload }, apply: () => void model.set(id, { vector, payload: payload ? structuredClone(payload) : null }) };
    }
    if (kind < 5) {
      const id = g.id();
      return { what: `erase ${id}`, op: { op: 'erase', vault: 'm', id }, apply: () => void model.delete(id) };
    }
    if (kind < 6) {
      const filter = g.filter();
      return { what: `eraseWhere ${JSON.stringify(filter)}`, op: { op: 'eraseWhere', vault: 'm', filter }, apply: () => { for (const [id, row] of model) if (matches(filter, row.payload)) model.delete(id); } };
    }
    if (kind < 8) {
      const id = g.id();
      const spec = g.spec();
      return { what: `patch ${id} ${JSON.stringify(spec)}`, op: { op: 'patch', vault: 'm', id, ...spec }, apply: () => { const row = model.get(id); if (row) row.payload = patched(row.payload, spec); } };
    }
    const filter = g.filter();
    const spec = g.spec();
    return { what: `patchWhere ${JSON.stringify(filter)} ${JSON.stringify(spec)}`, op: { op: 'patchWhere', vault: 'm', filter, ...spec }, apply: () => { for (const row of model.values()) if (matches(filter, row.payload)) row.payload = patched(row.payload, spec); } };
  };

  for (let n = 0; n < STEPS; n++) {
    const roll = g.int(100);
    let what: string;
    const v = db.vault('m');
    if (roll < 2) {
      what = 'reopen';
      await db.close();
      db = await open(dir, options);
    } else if (roll < 4) {
      what = 'checkpoint';
      await db.checkpoint();
    } else if (roll === 4 && v.indexes().length < 2) {
      const field = v.indexes().length === 0 ? 'tag' : 'meta.k';
      what = `createIndex ${field}`;
      await v.createIndex(field);
    } else if (roll < 15) {
      const ops = Array.from({ length: 2 + g.int(3) }, recordOp);
      what = `batch [${ops.map((o) => o.what).join('; ')}]`;
      await db.batch(ops.map((o) => o.op));
      for (const o of ops) o.apply();
    } else {
      const o = recordOp();
      what = o.what;
      const b = o.op;
      if (b.op === 'insert') await v.insert(b.id, b.vector, b.payload as Payload | null);
      else if (b.op === 'erase') assert.equal(await v.erase(b.id), model.has(b.id), step(n, what));
      else if (b.op === 'eraseWhere') assert.equal(await v.eraseWhere(b.filter), [...model.values()].filter((row) => matches(b.filter, row.payload)).length, step(n, what));
      else if (b.op === 'patch') assert.equal(await v.patch(b.id, { ...(b.set ? { set: b.set } : {}), ...(b.unset ? { unset: b.unset } : {}) }), model.has(b.id), step(n, what));
      else if (b.op === 'patchWhere') assert.equal(await v.patchWhere(b.filter, { ...(b.set ? { set: b.set } : {}), ...(b.unset ? { unset: b.unset } : {}) }), [...model.values()].filter((row) => matches(b.filter, row.payload)).length, step(n, what));
      o.apply();
    }
    check(db, model, g, step(n, what));
    await checkSearch(db, model, g, step(n, what));
  }
  await db.close();
}

function check(db: Database, model: Map<string, Row>, g: ReturnType<typeof generators>, where: string): void {
  const v = db.vault('m');
  const ids = [...model.keys()].sort();
  assert.equal(v.count(), model.size, where);
  const probe = Array.from({ length: 40 }, (_, i) => `id${i}`);
  const got = v.getMany(probe);
  probe.forEach((id, i) => {
    const row = model.get(id);
    const r = got[i];
    if (!row) return assert.equal(r, null, `${where}: ${id} should be absent`);
    assert.ok(r, `${where}: ${id} should exist`);
    assert.deepEqual(r.payload, row.payload, `${where}: payload of ${id}`);
    assert.deepEqual(Array.from(r.vector), Array.from(row.vector), `${where}: vector of ${id}`);
    assert.deepEqual(v.get(id)!.payload, row.payload, `${where}: get ${id}`);
  });
  for (let i = 0; i < 2; i++) {
    const f = g.filter();
    const want = ids.filter((id) => matches(f, model.get(id)!.payload));
    assert.equal(v.count(f), want.length, `${where}: count ${JSON.stringify(f)}`);
    const limit = 1 + g.int(7);
    const seen: string[] = [];
    for (let p = v.scan({ filter: f, limit }); ; p = v.scan({ filter: f, limit, after: p.next })) {
      seen.push(...p.records.map((x) => x.id));
      if (!p.next) break;
    }
    assert.deepEqual(seen, want, `${where}: scan ${JSON.stringify(f)} limit ${limit}`);
  }
  const all: string[] = [];
  for (let p = v.scan({ limit: 9 }); ; p = v.scan({ limit: 9, after: p.next })) {
    all.push(...p.records.map((x) => x.id));
    if (!p.next) break;
  }
  assert.deepEqual(all, ids, `${where}: scan all`);
}

async function checkSearch(db: Database, model: Map<string, Row>, g: ReturnType<typeof generators>, where: string): Promise<void> {
  const q = g.vector();
  const f = g.r() < 0.5 ? g.filter() : undefined;
  const dist = (a: Float32Array) => a.reduce((s, x, i) => s + (x - q[i]!) * (x - q[i]!), 0);
  const want = [...model].filter(([, row]) => !f || matches(f, row.payload)).map(([id, row]) => ({ id, d: dist(row.vector) })).sort((a, b) => a.d - b.d).slice(0, 5).map((x) => x.id);
  const hits = await db.vault('m').search(q, { k: 5, exact: true, ...(f ? { filter: f } : {}) });
  assert.deepEqual(hits.map((h) => h.id), want, `${where}: exact search ${JSON.stringify(f)}`);
}

describe('model-based: the everyday API against a Map', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}: ${STEPS} steps`, { timeout: 600_000 }, async () => {
      await runSeed(seed);
    });
  }
});
