/**
 * The shipping thread's entry (ship-thread.ts starts it): the same Shipper as `quiver replicate`
 * runs, on the writer's directory, with its own object-store client. It reads only files, so
 * nothing is shared with the writer's thread but messages: requests in, progress and a lost
 * lease out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nodeFileSystem } from '../fs/file-system.js';
import { openObjectStore, type S3Store } from '../object-store/s3-store.js';
import { sendError, type FromShipper, type ShipWorkerData, type ToShipper } from './ship-messages.js';
import { Shipper } from './shipper.js';

const port = parentPort!;
const data = workerData as ShipWorkerData;
const post = (message: FromShipper): void => port.postMessage(message);

async function main(): Promise<void> {
  let store: S3Store | null = null;
  let shipper: Shipper;
  try {
    // The optional SDK is loaded here, on first use, as in-process.
    store = await openObjectStore(data.url, data.s3);
    shipper = await Shipper.start(nodeFileSystem, data.dir, store, { ...data.options, localLsn: () => data.localLsn });
  } catch (err) {
    store?.close();
    post({ type: 'failed', error: sendError(err) });
    port.close();
    return;
  }
  shipper.onProgress = () => post({ type: 'progress', progress: shipper.progress() });
  shipper.onLost = (err) => post({ type: 'lost', error: sendError(err) });
  post({ type: 'started', progress: shipper.progress() });
  port.on('message', (m: ToShipper) => {
    if (m.type === 'capture') {
      void shipper.captureLogTail().finally(() => post({ type: 'done', id: m.id }));
    } else {
      // Its last round and the released lease are in the progress posted before the answer.
      const answer = (err?: unknown): void => {
        post({ type: 'progress', progress: shipper.progress() });
        post({ type: 'done', id: m.id, ...(err === undefined ? {} : { error: sendError(err) }) });
        port.close();
      };
      void shipper.stop(m.timeoutMs).then(() => answer(), answer);
    }
  });
}

void main();
