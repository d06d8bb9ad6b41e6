/**
 * Child processes for the object-storage tests.
 *   writer <dir> <url> <leaseMs> [takeover]: batches of two inserts plus a head record, one after
 *     another; prints `ack <n> <lsn>` once each resolves and `shipped <lsn>` as stats report it;
 *     prints `failed <code> <message>` and exits 4 when the database fails (a lost lease).
 *   replica <url> <cacheDir> <ms>: refreshes for <ms>, checking each view is whole and never older;
 *     prints `view <lsn> <lagLsn>` per refresh and `done <json>` at the end.
 *   plain <dir> <autoCheckpointBytes> <ms>: the same batches without replicate, for <ms>, as fast as
 *     it can (checkpointing every <autoCheckpointBytes> of log); prints `ack <n> <lsn>`, then closes
 *     and prints `closed <lsn>`.
 *   unclosed <dir> <url> <batches>: a writer with replicate writes <batches> batches, waits until
 *     they are shipped, prints `shipped <lsn> <sdk>` (sdk: whether this thread loaded the S3
 *     client) and returns without close(): the process must end by itself.
 */
import { createRequire } from 'node:module';
import { open, type Database } from '../../src/index.js';
import { s3Options } from './env.js';

const [mode, ...args] = process.argv.slice(2);
const out = (line: string): boolean => process.stdout.write(line + '\n');
const vector = (n: number): number[] => Array.from({ length: 8 }, (_, i) => Math.sin(n * 7 + i));

async function writer(dir: string, url: string, leaseMs: number, takeover: boolean): Promise<void> {
  const db = await open(dir, { dimension: 8, autoCheckpointBytes: 64 * 1024, replicate: { url, ...s3Options(), intervalMs: 50, leaseMs, takeover, graceMs: 1000, retainMs: 1000 } });
  const docs = db.hasVault('docs') ? db.vault('docs') : await db.createVault('docs');
  let n = (docs.get('head')?.payload as { n?: number } | undefined)?.n ?? -1;
  out(`ready ${db.stats().lastLsn}`);
  const failed = (err: unknown): never => {
    out(`failed ${(err as { code?: string }).code} ${(err as Error).message} ${String((err as Error).cause && (err as { cause: Error }).cause.message)}`);
    process.exit(4);
  };
  setInterval(() => {
    try {
      out(`shipped ${db.stats().replication?.shippedLsn ?? -1}`);
    } catch (err) {
      failed(err);
    }
  }, 25).unref();
  for (;;) {
    n++;
    try {
      await db.batch([
        { op: 'insert', vault: 'docs', id: `b${n}-a`, vector: vector(n), payload: { n } },
        { op: 'insert', vault: 'docs', id: `b${n}-b`, vector: vector(-n), payload: { n } },
        { op: 'insert', vault: 'docs', id: 'head', vector: vector(0), payload: { n } },
      ]);
    } catch (err) {
      failed(err);
    }
    out(`ack ${n} ${db.stats().lastLsn}`);
    if (n % 50 === 0) await new Promise((r) => setTimeout(r, 5));
  }
}

async function plain(dir: string, autoCheckpointBytes: number, ms: number): Promise<void> {
  const db = await open(dir, { dimension: 8, autoCheckpointBytes });
  const docs = db.hasVault('docs') ? db.vault('docs') : await db.createVault('docs');
  let n = (docs.get('head')?.payload as { n?: number } | undefined)?.n ?? -1;
  out(`ready ${db.stats().lastLsn}`);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    n++;
    await db.batch([
      { op: 'insert', vault: 'docs', id: `b${n}-a`, vector: vector(n), payload: { n } },
      { op: 'insert', vault: 'docs', id: `b${n}-b`, vector: vector(-n), payload: { n } },
      { op: 'insert', vault: 'docs', id: 'head', vector: vector(0), payload: { n } },
    ]);
    out(`ack ${n} ${db.stats().lastLsn}`);
  }
  const lsn = db.stats().lastLsn;
  await db.close();
  out(`closed ${lsn}`);
}

/** A view is whole when the head's n says exactly which batches exist: 2 records per batch, plus the head. */
export function checkView(db: Database): { n: number; whole: boolean } {
  if (!db.hasVault('docs')) return { n: -1, whole: true };
  const docs = db.vault('docs');
  const n = (docs.get('head')?.payload as { n?: number } | undefined)?.n ?? -1;
  let whole = docs.count() === (n >= 0 ? 2 * (n + 1) + 1 : 0);
  for (const k of [0, Math.floor(n / 2), n]) if (n >= 0 && (!docs.get(`b${k}-a`) || !docs.get(`b${k}-b`))) whole = false;
  return { n, whole };
}

async function replica(url: string, cacheDir: string, ms: number): Promise<void> {
  const db = await open(url, { readOnly: true, cacheDir, s3: s3Options() });
  let last = db.stats().lastLsn;
  let lastN = checkView(db).n;
  const summary = { refreshes: 0, backwards: 0, torn: 0, errors: 0, maxLagLsn: 0, lastLsn: last, lastError: '' };
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      await db.refresh();
    } catch (err) {
      summary.errors++;
      summary.lastError = (err as Error).message;
    }
    const lsn = db.stats().lastLsn;
    const view = checkView(db);
    if (lsn < last || view.n < lastN) summary.backwards++;
    if (!view.whole) summary.torn++;
    const lag = db.stats().replication?.lagLsn ?? 0;
    summary.maxLagLsn = Math.max(summary.maxLagLsn, lag);
    last = lsn;
    lastN = view.n;
    summary.refreshes++;
    summary.lastLsn = lsn;
    out(`view ${lsn} ${lag}`);
    await new Promise((r) => setTimeout(r, 30));
  }
  await db.close();
  out(`done ${JSON.stringify(summary)}`);
}

async function unclosed(dir: string, url: string, batches: number): Promise<void> {
  const db = await open(dir, { dimension: 8, replicate: { url, ...s3Options(), intervalMs: 50 } });
  const docs = await db.createVault('docs');
  for (let n = 0; n < batches; n++) {
    await docs.insertMany([{ id: `b${n}-a`, vector: vector(n), payload: { n } }, { id: `b${n}-b`, vector: vector(-n), payload: { n } }]);
    await docs.insert('head', vector(0), { n });
  }
  while (db.stats().replication!.shippedLsn < db.stats().lastLsn) await new Promise((r) => setTimeout(r, 20));
  const sdk = Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('@aws-sdk/client-s3'));
  out(`shipped ${db.stats().lastLsn} ${sdk}`);
}

if (mode === 'writer') await writer(args[0]!, args[1]!, Number(args[2]), args[3] === 'takeover');
else if (mode === 'replica') await replica(args[0]!, args[1]!, Number(args[2]));
else if (mode === 'plain') await plain(args[0]!, Number(args[1]), Number(args[2]));
else if (mode === 'unclosed') await unclosed(args[0]!, args[1]!, Number(args[2]));
