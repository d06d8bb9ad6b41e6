import type { Command } from 'commander';
import { importDatabase } from '../index.js';
import { print } from './output.js';
import { progress } from './progress.js';
import { run, withDb } from './run.js';

/** quiver export, quiver import: a database to and from JSON Lines (README "Export and import"). */
export function addInterchangeCommands(program: Command): void {
  program
    .command('export <db> <dir>')
    .description('write every vault as JSON Lines into a new directory (read-only)')
    .action(
      run(async (dbPath: string, dir: string, _o: unknown, cmd: Command) => {
        await withDb(dbPath, false, async (db) => {
          const bar = progress('exporting', db.vaults().reduce((n, v) => n + v.records, 0), !cmd.optsWithGlobals().json);
          let last = 0;
          const result = await db.export(dir, { onProgress: (done) => (bar.tick(done - last), (last = done)) });
          bar.stop();
          print(result, cmd.optsWithGlobals());
        });
      }),
    );
  program
    .command('import <db> <dir>')
    .description('read an export into the database, all or nothing; where there is no database yet, create one from the export\'s identity and embedder')
    .option('--embedder <local|folder>', "when creating: 'local' or a transformers model folder (default: the export's own)")
    .action(
      run(async (dbPath: string, dir: string, o: { embedder?: string }, cmd: Command) => {
        let bar: ReturnType<typeof progress> | null = null;
        let last = 0;
        const result = await importDatabase(dbPath, dir, {
          ...(o.embedder ? { embedder: o.embedder === 'local' ? 'local' : { transformers: o.embedder } } : {}),
          onProgress: (done, total) => {
            bar ??= progress('importing', total, !cmd.optsWithGlobals().json);
            bar.tick(done - last);
            last = done;
          },
        });
        (bar as ReturnType<typeof progress> | null)?.stop();
        print(result, cmd.optsWithGlobals());
      }),
    );
}
