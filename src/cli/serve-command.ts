import { Option, type Command } from 'commander';
import { open, type Durability } from '../index.js';
import { QuiverServer } from '../server/http-server.js';
import { integer, localPath, run } from './run.js';

interface ServeFlags {
  host: string;
  port: number;
  readOnly?: boolean;
  apiKey?: string;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  refreshMs: number;
  durability?: Durability;
}

/**
 * quiver serve <db>: Qdrant's REST subset (README "Qdrant clients: quiver serve") until SIGTERM or SIGINT,
 * which drain requests in flight and close the database.
 */
export function addServeCommand(program: Command): void {
  program
    .command('serve <db>')
    .description("serve the database over HTTP with a subset of Qdrant's REST API")
    .option('--host <host>', 'address to bind (loopback unless you say otherwise)', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', integer, 6333)
    .option('--read-only', 'open read-only beside a writer, following it by refresh')
    .option('--api-key <key>', 'require this key in the api-key header (default: $QUIVER_API_KEY)')
    .option('--max-body-bytes <n>', 'largest request body', integer, 32 * 1024 * 1024)
    .option('--request-timeout-ms <n>', 'a request must arrive whole within this', integer, 30_000)
    .option('--refresh-ms <n>', 'read-only: follow the writer this often', integer, 200)
    .addOption(new Option('--durability <mode>', 'writer durability (replies wait for it)').choices(['paranoid', 'standard', 'relaxed']))
    .action(
      run(async (dbPath: string, o: ServeFlags, cmd: Command) => {
        const db = await open(localPath(dbPath), o.readOnly ? { readOnly: true, refreshIntervalMs: Math.max(1, o.refreshMs) } : { create: false, ...(o.durability ? { durability: o.durability } : {}) });
        const apiKey = o.apiKey ?? process.env.QUIVER_API_KEY;
        let server: QuiverServer;
        try {
          server = await QuiverServer.listen(db, { host: o.host, port: o.port, maxBodyBytes: o.maxBodyBytes, requestTimeoutMs: o.requestTimeoutMs, ...(apiKey ? { apiKey } : {}) });
        } catch (err) {
          await db.close();
          throw err;
        }
        const mode = db.readOnly ? 'read-only' : 'read-write';
        const { url } = server.address;
        if (cmd.optsWithGlobals().json) process.stdout.write(JSON.stringify({ listening: url, mode, db: db.path }) + '\n');
        else process.stdout.write(`quiver serve listening on ${url} (${mode}, ${db.path})\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        await server.close();
        process.stderr.write('quiver serve: drained and closed\n');
      }),
    );
}
