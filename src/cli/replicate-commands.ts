import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { nodeFileSystem } from '../fs/file-system.js';
import { openObjectStore, type S3Options } from '../object-store/s3-store.js';
import { isObjectStoreUrl } from '../object-store/url.js';
import { shipperOptions } from '../replica/open.js';
import { backupToObjectStore, restoreFromObjectStore } from '../replica/restore.js';
import { Shipper } from '../replica/shipper.js';
import { ExitCode, print } from './output.js';
import { integer, run, time } from './run.js';

interface S3Flags {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
}

/** --endpoint/--region/--path-style; credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID, profiles, roles). */
export function addObjectStoreOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 's3:// only: an S3-compatible endpoint (radosgw, MinIO, R2); default AWS_ENDPOINT_URL_S3 or AWS S3')
    .option('--region <name>', 's3:// only: region (default AWS_REGION or us-east-1)')
    .addOption(new Option('--path-style', 's3:// only: bucket in the path (the default with --endpoint)'));
}

const s3Of = (o: S3Flags): S3Options => ({ ...(o.endpoint ? { endpoint: o.endpoint } : {}), ...(o.region ? { region: o.region } : {}), ...(o.pathStyle ? { forcePathStyle: true } : {}) });

/** `quiver backup <db> s3://...`: true when it handled the command. */
export async function maybeBackupToObjectStore(dbPath: string, dest: string, o: S3Flags, cmd: Command): Promise<boolean> {
  if (!isObjectStoreUrl(dest)) return false;
  const result = await backupToObjectStore(dbPath, dest, s3Of(o));
  print(result, cmd.optsWithGlobals(), () => `backup of ${dbPath} in ${result.url} up to LSN ${result.lsn}`);
  return true;
}

/** `quiver restore s3://... <dir> [--lsn N | --time T]`: true when it handled the command. */
export async function maybeRestoreFromObjectStore(source: string, dbPath: string, o: S3Flags & { lsn?: number; time?: number }, cmd: Command): Promise<boolean> {
  if (!isObjectStoreUrl(source)) return false;
  const result = await restoreFromObjectStore(source, dbPath, { lsn: o.lsn, time: o.time }, s3Of(o));
  print(result, cmd.optsWithGlobals(), () => `restored ${result.path} from ${source} at LSN ${result.lsn} (checkpoint LSN ${result.checkpointLsn} + ${result.chunks} log chunks)`);
  return true;
}

export function addRestoreTargetOptions(command: Command): Command {
  return command.option('--lsn <n>', 's3:// only: restore up to this LSN', integer).option('--time <t>', 's3:// only: restore the state as of this time (ISO 8601 or ms)', time);
}

/** `quiver replicate <db> <url>`: ships a database beside its live writer until SIGINT or SIGTERM. */
export function addReplicateCommands(program: Command): void {
  addObjectStoreOptions(
    program
      .command('replicate <db> <url>')
      .description('ship <db> to s3://bucket/prefix beside its live writer, until interrupted')
      .option('--interval-ms <n>', 'cut a log chunk at least this often', integer, 1000)
      .option('--lease-ms <n>', 'writer lease length', integer, 30_000)
      .option('--grace-ms <n>', 'keep unneeded objects this long before deleting them', integer, 60_000)
      .option('--retain-ms <n>', 'point-in-time restore window', integer, 24 * 3600_000)
      .option('--takeover', 'take over an EXPIRED lease (only once its writer is known to be gone)')
      .option('--status-ms <n>', 'print status this often (0 never)', integer, 10_000),
  ).action(
    run(async (dbPath: string, url: string, o: S3Flags & { intervalMs: number; leaseMs: number; graceMs: number; retainMs: number; takeover?: boolean; statusMs: number }, cmd: Command) => {
      const options = shipperOptions({ url, intervalMs: o.intervalMs, leaseMs: o.leaseMs, graceMs: o.graceMs, retainMs: o.retainMs, takeover: o.takeover === true });
      const store = await openObjectStore(url, s3Of(o));
      const shipper = await Shipper.start(nodeFileSystem, path.resolve(dbPath), store, { ...options, external: true }).catch((err: unknown) => {
        store.close();
        throw err;
      });
      const out = cmd.optsWithGlobals();
      print({ replicating: dbPath, url, generation: shipper.status().generation }, out, () => `replicating ${dbPath} to ${url} (generation ${shipper.status().generation}); Ctrl-C stops`);
      const code = await new Promise<number>((resolve) => {
        // The shipper's timers do not hold a process open (a writer's must not); this one does.
        const keepAlive = setInterval(() => undefined, 1 << 30);
        const timer = o.statusMs > 0 ? setInterval(() => print(shipper.status(), out, () => line(shipper)), o.statusMs) : null;
        const finish = (exit: number): void => {
          clearInterval(keepAlive);
          if (timer) clearInterval(timer);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve(exit);
        };
        const onSignal = (): void => void shipper.stop().then(() => finish(ExitCode.ok), () => finish(ExitCode.ok));
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        shipper.onLost = (err) => {
          process.stderr.write(`quiver replicate: ${err.message}\n`);
          void shipper.stop().finally(() => finish(4));
        };
      });
      print(shipper.status(), out, () => line(shipper));
      return code;
    }),
  );
}

function line(shipper: Shipper): string {
  const s = shipper.status();
  return `${s.state}: shipped LSN ${s.shippedLsn} of ${s.localLsn} (lag ${s.lagLsn} records, ${s.lagSeconds.toFixed(1)} s), ${s.chunksShipped} chunks, ${s.errors} errors${s.lastError ? ` (last: ${s.lastError})` : ''}`;
}
