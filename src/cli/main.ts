#!/usr/bin/env node
import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { progress } from './progress.js';
import { backup, checkDatabase, NotFoundError, restore, type EmbedderOption, type Filter } from '../index.js';
import { runDemo } from './demo.js';
import { packageVersion } from '../util/package-files.js';
import { ExitCode, describe, output, print, reportError, reportUsage } from './output.js';
import { positiveInteger, run, takeActionExit, usage, withDb } from './run.js';
import { addAddCommand } from './add-command.js';
import { addHistoryCommands } from './history-commands.js';
import { addInterchangeCommands } from './interchange-commands.js';
import { addRecordCommands, addSearchKnobOptions, plainVectors, searchKnobs } from './record-commands.js';
import { addServeCommand } from './serve-command.js';
import { initDatabase, type InitFlags } from './init-command.js';
import { addObjectStoreOptions, addReplicateCommands, addRestoreTargetOptions, maybeBackupToObjectStore, maybeRestoreFromObjectStore } from './replicate-commands.js';

/** 'local', or a folder holding a transformers model. */
function embedderOption(value: string): EmbedderOption {
  return value === 'local' ? 'local' : { transformers: value };
}

/**
 * The `quiver` program. Commands register here (or through an add*Commands(program) helper
 * from their own file); every subcommand inherits --json, the output sink and exitOverride.
 */
export function buildProgram(options: { json?: boolean } = {}): Command {
  const program = new Command('quiver')
    .description('Operate a quiverdb database directory.')
    .version(packageVersion(), '-V, --version', 'print the quiverdb version')
    .option('--json', 'print JSON for scripts (errors too)')
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => output.out(s),
      writeErr: (s) => output.err(s),
      // Under --json a usage error is printed once, as JSON, by main().
      outputError: (s, write) => (options.json ? undefined : write(s)),
    });

  program
    .command('init <db>')
    .description('create a database (or report the existing one); a failed init leaves nothing behind')
    .option('--dim <n>', 'vector dimension (taken from the embedder when there is one)', positiveInteger)
    .option('--embedder <local|folder>', "text embedder: 'local' (built in) or a transformers model folder")
    .addOption(new Option('--metric <metric>', 'distance metric').choices(['cosine', 'l2', 'ip']).default('cosine'))
    .addOption(new Option('--index <type>', 'vector index').choices(['hnsw', 'flat']).default('hnsw'))
    .option('--m <n>', 'HNSW M', positiveInteger)
    .option('--ef-construction <n>', 'HNSW efConstruction', positiveInteger)
    .addOption(new Option('--storage <mode>', 'storage mode').choices(['segmented', 'snapshot']).default('segmented'))
    .action(
      run(async (dbPath: string, o: InitFlags, cmd: Command) => {
        if (o.dim === undefined && o.embedder === undefined) throw usage('init needs --dim or --embedder');
        const result = await initDatabase(dbPath, o, embedderOption);
        print(result, cmd.optsWithGlobals(), () => `database ${result.path} (${result.created ? 'created' : 'already existed'})\n${describe(result.identity, 1)}`);
      }),
    );

  program
    .command('stats <db>')
    .description('sizes by file kind, vaults, log, epoch, last recovery (read-only)')
    .action(
      run(async (dbPath: string, _o: unknown, cmd: Command) => {
        await withDb(dbPath, false, async (db) => print(db.stats(), cmd.optsWithGlobals()));
      }),
    );

  program
    .command('check <db>')
    .description('verify every checksum and reference; exit 3 when anything is corrupt')
    .action(
      run(async (dbPath: string, _o: unknown, cmd: Command) => {
        if (!fs.existsSync(dbPath)) throw new NotFoundError('database', `no database at ${dbPath}`);
        const report = await checkDatabase(dbPath);
        print(report, cmd.optsWithGlobals(), () => {
          const lines = [`${report.ok ? 'ok' : 'CORRUPT'}: ${report.filesChecked.length} files verified, ${report.vaults} vaults, ${report.records} checkpointed records, ${report.walRecords} log records`];
          for (const p of report.problems) lines.push(`  ${p.file}${p.offset !== undefined ? ` @${p.offset}` : ''}: ${p.message}`);
          if (report.tornTail) lines.push(`  note: wal.log ends in a torn record at ${report.tornTail.offset} (${report.tornTail.bytes} bytes, ${report.tornTail.reason}); the next writer drops it`);
          return lines.join('\n');
        });
        return report.ok ? ExitCode.ok : ExitCode.corruption;
      }),
    );

  for (const [name, description] of [
    ['checkpoint', 'write segments and manifest, then truncate the log'],
    ['compact', 'rebuild every index from its records, then checkpoint'],
  ] as const) {
    program
      .command(`${name} <db>`)
      .description(description)
      .action(
        run(async (dbPath: string, _o: unknown, cmd: Command) => {
          await withDb(dbPath, true, async (db) => print(name === 'checkpoint' ? await db.checkpoint() : await db.compact(), cmd.optsWithGlobals()));
        }),
      );
  }

  addSearchKnobOptions(program
    .command('search <db>'))
    .description('nearest records to a text or a vector (read-only)')
    .requiredOption('--vault <name>', 'vault to search')
    .option('--text <query>', 'query text, embedded with the database\'s embedder')
    .option('--vector <json>', 'query vector as a JSON array')
    .option('-k <n>', 'hits', positiveInteger, 10)
    .option('--ef <n>', 'HNSW search breadth', positiveInteger)
    .option('--filter <json>', 'payload filter as JSON')
    .option('--exact', 'exact search, no graph')
    .addOption(new Option('--mode <mode>', 'vector, text (BM25) or hybrid (default for --text on a vault with documents)').choices(['vector', 'text', 'hybrid']))
    .addOption(new Option('--fusion <rule>', 'hybrid fusion: weighted (default) or rrf').choices(['weighted', 'rrf']))
    .option('--text-weight <w>', 'weighted fusion: weight of the text score, 0 to 1', parseFloat)
    .option('--document-weight <w>', "weighted fusion: share of the text score from the hit's whole document, 0 to 1", parseFloat)
    .option('--no-acronyms', "hybrid: do not add the acronyms the query spells with capitals to its text terms")
    .option('--embedder <local|folder>', "the database's embedder, where its model folder moved (default: the recorded one)")
    .action(
      run(async (dbPath: string, o: { vault: string; text?: string; vector?: string; k: number; ef?: number; filter?: string; exact?: boolean; mode?: 'vector' | 'text' | 'hybrid'; fusion?: 'weighted' | 'rrf'; textWeight?: number; documentWeight?: number; acronyms: boolean; minScore?: number; mmr?: number | boolean; groupBy?: string; groupSize?: number; vectors?: boolean; embedder?: string }, cmd: Command) => {
        if ((o.text === undefined) === (o.vector === undefined)) throw usage('search needs exactly one of --text and --vector');
        const parse = (what: string, text: string): unknown => {
          try {
            return JSON.parse(text);
          } catch {
            throw usage(`--${what} is not valid JSON`);
          }
        };
        await withDb(dbPath, { readOnly: true, ...(o.embedder ? { embedder: embedderOption(o.embedder) } : {}) }, async (db) => {
          const hits = await db.vault(o.vault).search(o.text ?? (parse('vector', o.vector!) as number[]), {
            k: o.k,
            ...(o.ef ? { ef: o.ef } : {}),
            ...(o.filter ? { filter: parse('filter', o.filter) as Filter } : {}),
            ...(o.exact ? { exact: true } : {}),
            ...(o.mode ? { mode: o.mode } : {}),
            ...(o.fusion ? { fusion: o.fusion } : {}),
            ...(o.textWeight !== undefined ? { textWeight: o.textWeight } : {}),
            ...(o.documentWeight !== undefined ? { documentWeight: o.documentWeight } : {}),
            ...(o.acronyms === false ? { acronyms: false } : {}),
            ...searchKnobs(o, db.identity.metric, o.mode),
          });
          print(hits.map(plainVectors), cmd.optsWithGlobals(), () =>
            hits.map((h) => `${h.score.toFixed(4)}  ${h.groupKey !== undefined ? `[${String(h.groupKey)}] ` : ''}${h.id}${h.ranks ? `  ${JSON.stringify(h.ranks)}` : ''}  ${h.payload ? JSON.stringify(h.payload) : ''}${h.document ? `\n        ${h.document.text.replace(/\s+/g, ' ').slice(0, 160)}` : ''}`).join('\n') || '(no hits)',
          );
        });
      }),
    );

  addAddCommand(program);

  program
    .command('reembed <db>')
    .description('re-embed every document with another embedder and switch to it (crash-safe)')
    .requiredOption('--embedder <local|folder>', "'local' or a transformers model folder")
    .action(
      run(async (dbPath: string, o: { embedder: string }, cmd: Command) => {
        const json = Boolean(cmd.optsWithGlobals().json);
        await withDb(dbPath, true, async (db) => {
          const total = db.vaults().reduce((n, v) => n + v.records, 0);
          const bar = progress('re-embedding', total, !json);
          let last = 0;
          const result = await db.reembed(embedderOption(o.embedder), { onProgress: (done) => (bar.tick(done - last), (last = done)) });
          bar.stop();
          print(result, cmd.optsWithGlobals());
        });
      }),
    );

  addObjectStoreOptions(program.command('backup <db> <dest>'))
    .description('a consistent, openable copy, taken while a writer keeps writing (no lock needed); <dest> may be s3://bucket/prefix')
    .action(
      run(async (dbPath: string, dest: string, o: object, cmd: Command) => {
        if (await maybeBackupToObjectStore(dbPath, dest, o, cmd)) return;
        const result = await backup(dbPath, dest);
        print(result, cmd.optsWithGlobals(), () => `backup of ${dbPath} at LSN ${result.lsn} (epoch ${result.epoch}) in ${result.path}: ${result.files} files, ${result.bytes} bytes`);
      }),
    );

  addRestoreTargetOptions(addObjectStoreOptions(program.command('restore <backup> <db>')))
    .description('replace <db> with a verified copy of <backup>; refuses while a writer or live reader holds <db>; <backup> may be s3://bucket/prefix')
    .action(
      run(async (backup: string, dbPath: string, o: object, cmd: Command) => {
        if (await maybeRestoreFromObjectStore(backup, dbPath, o, cmd)) return;
        const result = await restore(backup, dbPath);
        print(result, cmd.optsWithGlobals(), () => `restored ${dbPath} from ${backup} (LSN ${result.lsn})`);
      }),
    );

  addHistoryCommands(program);
  addInterchangeCommands(program);
  addRecordCommands(program);
  addServeCommand(program);
  addReplicateCommands(program);

  program
    .command('recover <db>')
    .description('open with salvage: keep the valid prefix of a corrupt log, move the rest aside')
    .action(
      run(async (dbPath: string, _o: unknown, cmd: Command) => {
        const recovery = await withDb(dbPath, { create: false, recovery: 'salvage' }, async (db) => db.stats().recovery);
        print({ recovery }, cmd.optsWithGlobals());
      }),
    );

  program
    .command('demo [db]')
    .description('build a small database from State of the Union addresses, search it, print stats')
    .action(
      run(async (dbPath: string | undefined) => {
        await runDemo(dbPath, (line) => output.out(line + '\n'));
      }),
    );
  return program;
}

/** Runs the program on `argv` (node, script, args...) and returns the exit code; never exits. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.slice(2).includes('--json');
  const program = buildProgram({ json });
  takeActionExit();
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return json ? reportUsage(err.message, { json }, { reason: err.code }) : ExitCode.usage;
    }
    return reportError(err, { json });
  }
  return takeActionExit();
}

/** True when this module is the process's entry point (the `quiver` bin), not imported by a test. */
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(fs.realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntry()) process.exitCode = await main(process.argv);
