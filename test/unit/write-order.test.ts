/**
 * Writes apply in call order (README "Writes"), whatever their kind and however long their
 * preparation (insertMany validates in slices, documents are embedded first). Each round issues
 * a random mix of every write kind without awaiting any of them, predicts each outcome with a
 * Map oracle in call order, then compares every outcome, the final state, and the state after
 * a reopen.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkText, open, ConflictError, NotFoundError, ValidationError, type Database, type Vault } from '../../src/index.js';
import { seededRandom } from '../../src/util/random.js';
import { dbPath } from '../helpers/tmp.js';

const DIM = 256; // the local embedder's dimension
/** npm run soak (QUIVER_SOAK=1) runs many more seeds. */
const SEEDS = process.env.QUIVER_SOAK === '1' ? 200 : 4;
type Outcome = { ok: unknown } | { error: new (...args: never[]) => Error };
type Records = Map<string, number>;

interface Oracle {
  vaults: Map<string, Records>;
  traces: Set<string>;
  lastLayer: string | null | undefined; // undefined: not known until the first commit resolves
}

function vector(n: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.sin(n * 7 + i) + 1.5);
}

/** Issues one random write on `db` without awaiting it; returns its promise and predicted outcome. */
function issue(db: Database, a: Vault, o: Oracle, r: () => number, n: number): { run: Promise<unknown>; expect: Outcome; what: string; layer?: boolean } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const id = pick(['k0', 'k1', 'k2', 'k3']);
  const recs = o.vaults.get('a')!;
  const b = o.vaults.get('b');
  switch (pick(['insert', 'insertMany', 'insertMany', 'erase', 'erase', 'batch', 'batch', 'create', 'drop', 'doc', 'text', 'trace', 'untrace', 'layer', 'checkpoint'])) {
    case 'insert':
      recs.set(id, n);
      return { run: a.insert(id, vector(n), { n }), expect: { ok: undefined }, what: `insert ${id} ${n}` };
    case 'insertMany': {
      const ids = [id, pick(['k0', 'k1', 'k2', 'k3', 'k4'])];
      const bad = r() < 0.15;
      if (!bad) for (const x of ids) recs.set(x, n);
      const records = ids.map((x) => ({ id: x, vector: vector(n), payload: { n } }));
      if (bad) records.push({ id: 'bad', vector: vector(n).slice(1), payload: { n } });
      return { run: a.insertMany(records), expect: bad ? { error: ValidationError } : { ok: undefined }, what: `insertMany ${ids} ${n}${bad ? ' (bad)' : ''}` };
    }
    case 'erase': {
      const existed = recs.delete(id);
      return { run: a.erase(id), expect: { ok: existed }, what: `erase ${id}` };
    }
    case 'batch': {
      const onB = b !== undefined && r() < 0.5;
      const ops = [
        { op: 'insert' as const, vault: 'a', id, vector: vector(n), payload: { n } },
        { op: 'erase' as const, vault: onB ? 'b' : 'a', id: pick(['k0', 'k1', 'k2', 'k3']) },
        { op: 'insert' as const, vault: onB || r() < 0.3 ? 'b' : 'a', id: pick(['k0', 'k1']), vector: vector(n + 1), payload: { n: n + 1 } },
      ];
      const valid = ops.every((x) => o.vaults.has(x.vault));
      if (valid) {
        for (const x of ops) {
          const target = o.vaults.get(x.vault)!;
          if (x.op === 'insert') target.set(x.id, x.payload.n);
          else target.delete(x.id);
        }
      }
      return { run: db.batch(ops), expect: valid ? { ok: undefined } : { error: NotFoundError }, what: `batch ${JSON.stringify(ops.map((x) => [x.op, x.vault, x.id]))}` };
    }
    case 'create':
      if (b) return { run: db.createVault('b'), expect: { error: ConflictError }, what: 'create b (exists)' };
      o.vaults.set('b', new Map());
      return { run: db.createVault('b'), expect: { ok: 'vault' }, what: 'create b' };
    case 'drop':
      if (!b) return { run: db.dropVault('b'), expect: { error: NotFoundError }, what: 'drop b (absent)' };
      o.vaults.delete('b');
      return { run: db.dropVault('b'), expect: { ok: undefined }, what: 'drop b' };
    case 'doc':
      recs.set(id, n);
      return { run: a.addDocument({ id, text: `document number ${n} about rivers`, payload: { n } }), expect: { ok: undefined }, what: `addDocument ${id} ${n}` };
    case 'text': {
      // One chunk or two, so a shorter version erases the chunk a longer one left.
      const words = Array.from({ length: r() < 0.5 ? 3 : 300 }, (_, i) => `w${(i + n) % 50}`).join(' ');
      const chunks = chunkText('t', words).map((c) => c.id);
      for (const c of chunks) recs.set(c, n);
      let removed = 0;
      for (let k = chunks.length; recs.has(`t#${k}`); k++) recs.delete(`t#${k}`), removed++;
      return { run: a.addText('t', words, { payload: { n } }), expect: { ok: { chunks: chunks.length, removed } }, what: `addText t ${chunks.length}` };
    }
    case 'trace':
      o.traces.add(id);
      return { run: a.traces.put(id, { n }), expect: { ok: undefined }, what: `trace.put ${id}` };
    case 'untrace': {
      const existed = o.traces.delete(id);
      return { run: a.traces.delete(id), expect: { ok: existed }, what: `trace.delete ${id}` };
    }
    case 'layer':
      return { run: a.layers.commit({ resources: { [`urn:${id}`]: { n } } }), expect: { ok: 'layer' }, what: `layer.commit ${n}`, layer: true };
    default:
      return { run: db.checkpoint(), expect: { ok: 'checkpoint' }, what: 'checkpoint' };
  }
}

function stateOf(db: Database): { vaults: Record<string, [string, unknown][]>; traces: string[] } {
  const vaults: Record<string, [string, unknown][]> = {};
  for (const info of db.vaults()) {
    const v = db.vault(info.name);
    vaults[info.name] = v.ids().map((id) => [id, (v.get(id)!.payload as { n: number }).n]);
  }
  return { vaults, traces: db.vault('a').traces.list().map((t) => t.key).sort() };
}

function expected(o: Oracle): ReturnType<typeof stateOf> {
  const vaults: Record<string, [string, unknown][]> = {};
  for (const name of [...o.vaults.keys()].sort()) vaults[name] = [...o.vaults.get(name)!].sort(([x], [y]) => (x < y ? -1 : 1));
  return { vaults, traces: [...o.traces].sort() };
}

async function rounds(seed: number, count: number, perRound: number): Promise<void> {
  const dir = dbPath();
  let db = await open(dir, { embedder: 'local', autoCheckpointBytes: 0 });
  const a = await db.createVault('a');
  const o: Oracle = { vaults: new Map([['a', new Map()]]), traces: new Set(), lastLayer: null };
  const r = seededRandom(seed);
  let n = 0;
  for (let round = 0; round < count; round++) {
    const issued = Array.from({ length: perRound }, () => issue(db, a, o, r, n++));
    const settled = await Promise.allSettled(issued.map((x) => x.run));
    settled.forEach((s, i) => {
      const { expect, what, layer } = issued[i]!;
      const where = `seed ${seed} round ${round} op ${i}: ${what}`;
      if ('error' in expect) {
        assert.equal(s.status, 'rejected', `${where} should have been refused`);
        assert.ok((s as PromiseRejectedResult).reason instanceof expect.error, `${where}: ${(s as PromiseRejectedResult).reason}`);
        return;
      }
      assert.equal(s.status, 'fulfilled', `${where}: ${(s as PromiseRejectedResult).reason}`);
      const value = (s as PromiseFulfilledResult<unknown>).value;
      if (layer) {
        // Each commit's parent is the commit called just before it on the branch.
        const { id, parent } = value as { id: string; parent: string | null };
        assert.equal(parent, o.lastLayer, `${where}: parent`);
        o.lastLayer = id;
      } else if (expect.ok !== 'vault' && expect.ok !== 'checkpoint') {
        assert.deepEqual(value, expect.ok, where);
      }
    });
    assert.deepEqual(stateOf(db), expected(o), `seed ${seed} round ${round}: state`);
  }
  await db.close();
  db = await open(dir, { embedder: 'local' });
  assert.deepEqual(stateOf(db), expected(o), `seed ${seed}: state after reopen`);
  await db.close();
}

describe('write order', { timeout: 3600_000 }, () => {
  it('random interleavings of every write kind, not awaited, end as a Map oracle says (and so after reopen)', async () => {
    for (let seed = 1; seed <= SEEDS; seed++) await rounds(seed, 8, 25);
  });

  it('insertMany([x]) then erase(x) at once: the erase sees x', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('v');
    const many = v.insertMany([{ id: 'x', vector: [1, 2] }]);
    const erased = v.erase('x');
    const again = v.insertMany([{ id: 'y', vector: [1, 2] }]);
    const batch = db.batch([{ op: 'erase', vault: 'v', id: 'y' }]);
    await Promise.all([many, again, batch]);
    assert.equal(await erased, true);
    assert.deepEqual(v.ids(), []);
    await db.close();
  });
});
