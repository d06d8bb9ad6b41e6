import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, LocalEmbedder, QuiverError, StorageError, type Database, type Durability, type FileSystem } from '../../src/index.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';
import { DIM, logged, SOAK } from '../helpers/power-loss.js';
import { dump, type Dump } from '../helpers/state.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';

/**
 * An errno failure at every FileSystem call of every public path (issue #14: the seam passes
 * errno errors through, so each caller must wrap them). What the user sees is always one of
 * the package's own errors: a StorageError naming the path, its cause the errno error, or the
 * database failing with a typed error. No descriptor stays open once the database is closed.
 * Acknowledged data survives a reopen with the real filesystem. QUIVER_SOAK=1 fails every call; otherwise a sample with every kind of call in it.
 */

/** Calls that write: ENOSPC is tried there as well as EIO. */
const WRITES = new Set(['writeSync', 'writeFileSynced', 'writeNative', 'truncate', 'fsync', 'mkdir', 'rename', 'syncFile']);
const SYNC_CALLS = new Set(['openSync', 'writeSync', 'readSync', 'sizeSync', 'closeSync', 'statSync', 'readdirSync', 'readFileSync']);

function errnoError(code: string, syscall: string, file: unknown): NodeJS.ErrnoException {
  const where = typeof file === 'string' ? ` '${file}'` : '';
  const err: NodeJS.ErrnoException = new Error(`${code}: injected, ${syscall}${where}`);
  Object.assign(err, { code, errno: code === 'EIO' ? -5 : -28, syscall }, typeof file === 'string' ? { path: file } : {});
  return err;
}

/** The real filesystem, counting every call; the `failAt`-th fails once with `code`. */
class ErrnoFs {
  calls: string[] = [];
  failAt = Infinity;
  code = 'EIO';
  injected: NodeJS.ErrnoException | null = null;
  readonly fs: FileSystem;

  constructor() {
    const overrides: Record<string, unknown> = {};
    const methods = Object.keys(nodeFileSystem) as (keyof FileSystem)[];
    for (const name of methods) {
      const real = (nodeFileSystem[name] as (...args: unknown[]) => unknown).bind(nodeFileSystem);
      overrides[name] = (...args: unknown[]) => {
        this.calls.push(name);
        if (this.calls.length !== this.failAt) return real(...args);
        const err = (this.injected = errnoError(this.code, name, args[0]));
        // close(2) releases the descriptor even when it reports an error (in the thread pool too).
        if (name === 'closeSync') real(...args);
        if (name === 'close') (real(...args) as Promise<void>).catch(() => undefined);
        if (SYNC_CALLS.has(name)) throw err;
        return Promise.reject(err);
      };
    }
    this.fs = overlay(nodeFileSystem, overrides as Partial<FileSystem>);
  }
}

/** What this process has open under the scratch directories (Linux), or null where there is no /proc. */
function openDescriptors(): string[] | null {
  if (!fs.existsSync('/proc/self/fd')) return null;
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.includes('quiver-ioerr-')) out.push(target);
    } catch {
      // the descriptor of the listing itself, gone by now
    }
  }
  return out;
}

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && out.length < 10; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** A failure the user sees must be ours, and must carry the injected errno error. */
function assertTyped(err: unknown, injected: NodeJS.ErrnoException | null, at: string): void {
  assert.ok(err instanceof QuiverError, `${at}: a QuiverError, not ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack}`);
  if (err instanceof StorageError && err.code === 'IO_ERROR') {
    assert.ok(typeof err.path === 'string' && err.path.length > 0, `${at}: IO_ERROR names a path: ${err.message}`);
  }
  if (injected && (err.code === 'IO_ERROR' || err.code === 'DATABASE_FAILED')) {
    assert.ok(causes(err).includes(injected), `${at}: the errno error is its cause: ${err.message}`);
  }
  // The StorageError that wraps the errno error names the file that failed, when it names one.
  const wrapper = causes(err).find((e) => e instanceof StorageError && e.cause === injected) as StorageError | undefined;
  if (injected?.path && wrapper) assert.equal(wrapper.path, injected.path, `${at}: the path of the file that failed: ${wrapper.message}`);
}

interface Scenario {
  name: string;
  /** The database the path starts from (copied for each run); null: a new directory. */
  src: () => Promise<{ dir: string | null; base: Dump }>;
  /** The open options (fs aside); `arm` set: the crash points begin after the open. */
  options?: Record<string, unknown>;
  armAfterOpen: boolean;
  /** The public call; pushes to `acked` what it was told is done. */
  body: (db: Database, acked: string[], scratch: string) => Promise<void>;
  /** After a reopen with the real filesystem. */
  check?: (db: Database, acked: readonly string[], at: string) => void;
}

const cache = new Map<string, Promise<{ dir: string | null; base: Dump }>>();
const once = (key: string, make: () => Promise<{ dir: string | null; base: Dump }>) => () => {
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key)!;
};
const base = once('logged', () => logged('segmented', 20));
const snapshotBase = once('snapshot', () => logged('snapshot', 20));

async function run(s: Scenario, efs: ErrnoFs, k: number): Promise<{ dir: string; acked: string[]; errors: unknown[]; opened: number }> {
  const { dir: src } = await s.src();
  const scratch = tmpDir('quiver-ioerr-');
  const dir = path.join(scratch, 'db');
  if (src) fs.cpSync(src, dir, { recursive: true });
  const acked: string[] = [];
  const errors: unknown[] = [];
  if (!s.armAfterOpen) efs.failAt = k;
  let db: Database;
  try {
    db = await open(dir, { ...s.options, fs: efs.fs });
  } catch (err) {
    errors.push(err);
    return { dir, acked, errors, opened: 0 };
  }
  const opened = s.armAfterOpen ? efs.calls.length : 0;
  if (s.armAfterOpen) efs.failAt = opened + k;
  try {
    await s.body(db, acked, scratch);
  } catch (err) {
    errors.push(err);
    if (db.status === 'failed') {
      // Every later call says so, in a typed error.
      try {
        db.stats();
        assert.fail('stats() on a failed database throws');
      } catch (later) {
        errors.push(later);
      }
    }
  }
  try {
    await db.close();
  } catch (err) {
    errors.push(err);
  }
  return { dir, acked, errors, opened };
}

/** Which calls to fail: all in a soak; else the first of each kind, the last, and an even spread. */
function sample(calls: readonly string[], budget: number): number[] {
  const n = calls.length;
  if (SOAK || n <= budget) return Array.from({ length: n }, (_, i) => i + 1);
  const ks = new Set<number>([1, n]);
  const seen = new Set<string>();
  calls.forEach((name, i) => {
    if (!seen.has(name)) ks.add(i + 1);
    seen.add(name);
  });
  for (let i = 0; i < budget; i++) ks.add(1 + Math.floor((i * (n - 1)) / (budget - 1)));
  return [...ks].sort((a, b) => a - b);
}

async function exercise(s: Scenario, budget: number): Promise<void> {
  const probe = new ErrnoFs();
  const { dir: probeDir, errors: probeErrors, opened } = await run(s, probe, Infinity);
  assert.deepEqual(probeErrors, [], `${s.name}: runs clean without faults`);
  // The calls after the open (or all of them), as the probe counted them.
  const counted = probe.calls.slice(opened);
  fs.rmSync(path.dirname(probeDir), { recursive: true, force: true });
  assert.ok(counted.length > 0, `${s.name}: makes FileSystem calls`);
  const { base: expected } = await s.src();
  for (const k of sample(counted, budget)) {
    for (const code of WRITES.has(counted[k - 1]!) ? ['EIO', 'ENOSPC'] : ['EIO']) {
      const efs = new ErrnoFs();
      efs.code = code;
      const at = `${s.name}: ${code} at call ${k} of ${counted.length} (${counted[k - 1]})`;
      const fdsBefore = openDescriptors();
      const { dir, acked, errors } = await run(s, efs, k);
      assert.ok(efs.injected, `${at}: the fault was injected`);
      for (const err of errors) assertTyped(err, efs.injected, at);
      // A closed (or failed and closed) database holds no descriptor, whatever failed on the way.
      // (A rejected open may still have a sibling read in flight: it closes its file when it settles.)
      const left = () => openDescriptors()!.filter((f) => !fdsBefore!.includes(f));
      for (let i = 0; fdsBefore && left().length > 0 && i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      if (fdsBefore) assert.deepEqual(left(), [], `${at}: no descriptor left open`);
      // Acknowledged data is intact after a reopen with the real filesystem.
      const again = await open(dir, { ...s.options });
      const got = dump(again);
      for (const [vault, records] of Object.entries(expected)) {
        const have = new Map((got[vault] ?? []).map((r) => [r[0], r]));
        for (const r of records) assert.deepEqual(have.get(r[0]), r, `${at}: ${vault}/${r[0]} from before is intact`);
      }
      s.check?.(again, acked, at);
      await again.close();
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  }
}

const inserted = (db: Database, acked: readonly string[], at: string) => {
  for (const id of acked) assert.ok(db.vault('a').get(id), `${at}: acknowledged a/${id} is there`);
};

const scenarios: Scenario[] = [
  {
    name: 'open (create)',
    src: async () => ({ dir: null, base: {} }),
    options: { dimension: DIM },
    armAfterOpen: false,
    body: async (db, acked) => {
      await (await db.createVault('a')).insert('x', [1, 0, 0, 0]);
      acked.push('x');
    },
    check: inserted,
  },
  { name: 'open (reopen)', src: base, armAfterOpen: false, body: async () => undefined },
  { name: 'open (reopen, snapshot)', src: snapshotBase, armAfterOpen: false, body: async () => undefined },
  { name: 'open (read-only)', src: base, options: { readOnly: true }, armAfterOpen: false, body: async () => undefined },
  ...(['paranoid', 'standard', 'relaxed', 'ephemeral'] as Durability[]).flatMap((durability): Scenario[] => [
    {
      name: `insert (${durability})`,
      src: base,
      options: { durability },
      armAfterOpen: true,
      body: async (db, acked) => {
        for (const [i, vector] of vectors(3, DIM, 90).entries()) {
          await db.vault('a').insert(`n${i}`, vector, { i });
          if (durability === 'relaxed') await db.flush();
          if (durability !== 'ephemeral') acked.push(`n${i}`);
        }
      },
      check: inserted,
    },
    {
      name: `insertMany (${durability})`,
      src: base,
      options: { durability },
      armAfterOpen: true,
      body: async (db, acked) => {
        await db.vault('a').insertMany(vectors(5, DIM, 91).map((vector, i) => ({ id: `m${i}`, vector })));
        if (durability === 'relaxed') await db.flush();
        if (durability !== 'ephemeral') acked.push(...Array.from({ length: 5 }, (_, i) => `m${i}`));
      },
      check: inserted,
    },
  ]),
  { name: 'checkpoint', src: base, armAfterOpen: true, body: async (db) => void (await db.checkpoint()) },
  { name: 'checkpoint (snapshot)', src: snapshotBase, armAfterOpen: true, body: async (db) => void (await db.checkpoint()) },
  { name: 'compact', src: base, armAfterOpen: true, body: async (db) => void (await db.compact()) },
  { name: 'export', src: base, armAfterOpen: true, body: async (db, _acked, scratch) => void (await db.export(path.join(scratch, 'export'))) },
  {
    name: 'import',
    src: base,
    armAfterOpen: true,
    body: async (db, acked) => {
      await db.import(await exported());
      acked.push('import');
    },
    check: (db, acked, at) => {
      if (acked.includes('import')) assert.equal(db.vault('x').count(), 6, `${at}: the acknowledged import is there`);
      if (db.hasVault('x')) assert.equal(db.vault('x').count(), 6, `${at}: an import is all there or not at all`);
    },
  },
  { name: 'backup', src: base, armAfterOpen: true, body: async (db, _acked, scratch) => void (await db.backup(path.join(scratch, 'backup'))) },
  { name: 'stats', src: base, armAfterOpen: true, body: async (db) => void db.stats() },
  { name: 'close', src: base, options: { durability: 'relaxed' }, armAfterOpen: true, body: async (db) => db.vault('a').insert('c', [0, 0, 1, 0]) },
];

let exportDir: Promise<string> | null = null;
function exported(): Promise<string> {
  exportDir ??= (async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM });
    await (await db.createVault('x')).insertMany(vectors(6, DIM, 7).map((vector, i) => ({ id: `x${i}`, vector })));
    const dest = path.join(tmpDir(), 'export');
    await db.export(dest);
    await db.close();
    return dest;
  })();
  return exportDir;
}

describe('an errno failure at any FileSystem call of a public path surfaces as a typed error', () => {
  for (const s of scenarios) it(s.name, () => exercise(s, 8));

  it('re-embed (default_v1 to default_v2)', async () => {
    const src = dbPath();
    const sdb = await open(src, { embedder: await LocalEmbedder.create({ model: 'default_v1' }) });
    await (await sdb.createVault('docs')).addDocuments(Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, text: `rivers and mountains ${i}` })));
    const docs = dump(sdb);
    await sdb.close();
    await exercise(
      {
        name: 're-embed',
        src: async () => ({ dir: src, base: {} }),
        armAfterOpen: true,
        body: async (db, acked) => {
          await db.reembed('local');
          acked.push('reembed');
        },
        check: (db, acked, at) => {
          const model = db.embedder!.manifest.model;
          if (acked.includes('reembed')) assert.equal(model, 'default_v2', `${at}: an acknowledged re-embed stays`);
          assert.deepEqual(db.vault('docs').ids(), docs['docs']!.map((r) => r[0]), `${at}: every document is there`);
        },
      },
      8,
    );
  });
});
