import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { LockedError, StorageError } from '../errors.js';
import type { S3Options } from '../object-store/s3-store.js';
import { receiveError, type FromShipper, type ShipWorkerData, type ToShipper } from './ship-messages.js';
import { RELEASE_MS, STOP_MS, replicationStatus, type LagClock, type ReplicationStats, type ShipProgress, type ShipperOptions } from './ship-types.js';

/**
 * A writer's shipper on a thread of its own (README "Beyond one machine: object storage"). The writer's thread
 * is the one inserting into the graph; reading the log, cutting chunks and the S3 client's
 * signing, HTTP and XML would take turns with it. Here they run on a worker thread (ship-worker.ts)
 * holding the Shipper, and the writer's thread only answers messages: the shipper's progress
 * after every change (so stats() stays synchronous), a lost lease, and the answers to its two
 * requests, "read the log now" before a checkpoint resets it, and stop.
 */
export class ShipperThread {
  onLost: (err: LockedError) => void = () => undefined;
  private progress: ShipProgress;
  private readonly waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  private nextId = 1;
  private gone: string | null = null;
  private stopping: Promise<void> | null = null;
  private readonly lagClock: LagClock = { since: null, shippedLsn: 0 };

  private constructor(
    private readonly worker: Worker,
    started: ShipProgress,
  ) {
    this.progress = started;
    worker.on('message', (m: FromShipper) => this.receive(m));
    worker.on('error', (err) => this.exit(`the shipping thread failed: ${err.message}`));
    worker.on('exit', (code) => this.exit(`the shipping thread exited (${code})`));
    // Like the in-process shipper's timers, the thread never holds the process open; a request does.
    worker.unref();
  }

  /** Starts the thread, which takes the lease and fences the root; rejects as Shipper.start would. */
  static start(entry: URL, dir: string, url: string, s3: S3Options, options: Omit<ShipperOptions, 'localLsn'>, localLsn: number): Promise<ShipperThread> {
    const worker = spawn(entry, { dir, url, s3, options, localLsn });
    return new Promise<ShipperThread>((resolve, reject) => {
      const early = (err: Error): void => reject(new StorageError('IO_ERROR', `replicate: the shipping thread failed before it started: ${err.message}`, { cause: err }));
      // Once `early` and the instance's own listener are gone (a thread that failed to start, then
      // terminated), an error the thread still raises must not be an unhandled 'error' event.
      worker.on('error', () => undefined);
      const exited = (code: number): void => reject(new StorageError('IO_ERROR', `replicate: the shipping thread exited (${code}) before it started`));
      worker.once('error', early);
      worker.once('exit', exited);
      worker.once('message', (m: FromShipper) => {
        worker.off('error', early);
        worker.off('exit', exited);
        if (m.type === 'started') resolve(new ShipperThread(worker, m.progress));
        else {
          reject(m.type === 'failed' ? receiveError(m.error) : new StorageError('IO_ERROR', `replicate: the shipping thread sent ${m.type} before it started`));
          void worker.terminate();
        }
      });
    });
  }

  private receive(m: FromShipper): void {
    if (m.type === 'progress') this.progress = m.progress;
    else if (m.type === 'lost') this.onLost(receiveError(m.error) as LockedError);
    else if (m.type === 'done') {
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (m.error) waiter?.reject(receiveError(m.error));
      else waiter?.resolve();
    }
  }

  /** The thread is gone (it stopped, or crashed): nothing ships any more, and nothing waits on it. */
  private exit(why: string): void {
    if (this.gone !== null) return;
    this.gone = why;
    if (this.progress.stats.state !== 'stopped' && this.progress.stats.state !== 'lost') {
      this.progress = { ...this.progress, stats: { ...this.progress.stats, state: 'stopped', errors: this.progress.stats.errors + 1, lastError: why } };
    }
    for (const waiter of this.waiting.values()) waiter.resolve();
    this.waiting.clear();
  }

  private request(message: { type: 'capture' } | { type: 'stop'; timeoutMs: number }): Promise<void> {
    if (this.gone !== null) return Promise.resolve();
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    const answered = new Promise<void>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.worker.postMessage({ ...message, id } satisfies ToShipper);
    return answered;
  }

  /** Before a checkpoint resets the log: the thread reads the log's tail first, as in-process. */
  captureLogTail(): Promise<void> {
    return this.request({ type: 'capture' });
  }

  status(lastLsn = 0): ReplicationStats {
    return replicationStatus(this.progress, lastLsn, this.lagClock);
  }

  /** Ships what is left (bounded by `timeoutMs`), releases the lease, and ends the thread. */
  stop(timeoutMs = STOP_MS): Promise<void> {
    this.stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      // The thread bounds its rounds and the lease's release itself; this bound is for a thread that no longer answers.
      const hung = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs + RELEASE_MS + 3000)));
      try {
        await Promise.race([this.request({ type: 'stop', timeoutMs }), hung]);
      } finally {
        clearTimeout(timer);
        await this.worker.terminate();
      }
    })();
    return this.stopping;
  }
}

/**
 * Where the thread's entry is: beside this module in the sources and in tsc's output; in the
 * bundled dist/ (scripts/bundle-dist.mjs) at dist/replica/ship-worker.js, this code being in
 * dist/ or dist/chunks/. Null when it is in none of them (quiverdb bundled into an application):
 * the writer then ships in-process (open.ts).
 */
export function shipWorkerEntry(): URL | null {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  for (const rel of [`./ship-worker.${ext}`, `./replica/ship-worker.${ext}`, `../replica/ship-worker.${ext}`]) {
    const url = new URL(rel, import.meta.url);
    if (url.protocol === 'file:' && fs.existsSync(url)) return url;
  }
  return null;
}

/**
 * Sources run under a TypeScript loader (tests and benches use tsx) that Node 20 does not carry
 * into a worker thread: the thread registers it again before it loads its entry.
 */
function spawn(entry: URL, data: ShipWorkerData): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: data });
  const loader = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(loader)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry.href)}))`, { eval: true, workerData: data });
}
