#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { EmbedderOption } from '../embedder/resolve.js';
import { progress } from './progress.js';
import { backupDirectory } from '../engine/backup.js';
import { checkDatabase } from '../engine/check.js';
import { restore } from '../engine/maintenance.js';
import { nodeFileSystem } from '../fs/file-system.js';
import { open } from '../engine/open.js';
import type { OpenOptions } from '../engine/options.js';
import type { Filter } from '../vault/filter.js';
import { runDemo } from './demo.js';
import { ExitCode, describe, print, reportError } from './output.js';
import { integer, run } from './run.js';
import { addHistoryCommands } from './history-commands.js';
import { addObjectStoreOptions, addReplicateCommands, addRestoreTargetOptions, maybeBackupToObjectStore, maybeRestoreFromObjectStore } from './replicate-commands.js';

/** 'local', or a folder holding a transformers model. */
function embedderOption(value: string): EmbedderOption {
  return value === 'local' ? 'local' : { transformers: value };
}

export function buildProgram(): Command {
  const program = new Command('quiver')
    .description('Operate a quiverdb database directory.')
    .option('--json', 'print JSON for scripts')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('init <db>')
    .description('create a database')
    .option('--dim <n>', 'vector dimension (taken from the embedder when there is one)', integer)
    .option('--embedder <local|folder>', "text embedder: 'local' (built in) or a transformers model folder")
    .addOption(new Option('--metric <metric>', 'distance metric').choices(['cosine', 'l2', 'ip']).default('cosine'))
    .addOption(new Option('--index <type>', 'vector index').choices(['hnsw', 'flat']).default('hnsw'))
    .option('--m <n>', 'HNSW M', integer)
    .option('--ef-construction <n>', 'HNSW efConstruction', integer)
    .addOption(new Option('--storage <mode>', 'storage mode').choices(['segmented', 'snapshot']).default('segmented'))
    .action(
      run(async (dbPath: string, o: { dim?: number; embedder?: string; metric: OpenOptions['metric']; index: 'hnsw' | 'flat'; m?: number; efConstruction?: number; storage: OpenOptions['storage'] }, cmd: Command) => {
        if (o.dim === undefined && o.embedder === undefined) throw new CommanderError(ExitCode.usage, 'quiver.missing', 'init needs --dim or --embedder');
        const index: OpenOptions['index'] = o.index === 'flat' ? 'flat' : { type: 'hnsw', ...(o.m ? { M: o.m } : {}), ...(o.efConstruction ? { efConstruction: o.efConstruction } : {}) };
        const db = await open(dbPath, { ...(o.dim ? { dimension: o.dim } : {}), ...(o.embedder ? { embedder: embedderOption(o.embedder) } : {}), metric: o.metric, index, storage: o.storage });
        const identity = db.identity;
        await db.close();
        print({ created: db.path, identity }, cmd.optsWithGlobals(), () => `database ${db.path}\n${describe(identity, 1)}`);
      }),
    );

  program
    .command('stats <db>')
    .description('sizes by file kind, vaults, log, epoch, last recovery (read-only)')
    .action(
      run(async (dbPath: string, _o: unknown, cmd: Command) => {
        const db = await open(dbPath, { readOnly: true });
        try {
          print(db.stats(), cmd.optsWithGlobals());
        } finally {
          await db.close();
        }
      }),
    );

  program
    .command('check <db>')
    .description('verify every checksum and reference; exit 3 when anything is corrupt')
    .action(
      run(async (dbPath: string, _o: unknown, cmd: Command) => {
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
          const db = await open(dbPath, { create: false });
          try {
            print(name === 'checkpoint' ? await db.checkpoint() : await db.compact(), cmd.optsWithGlobals());
          } finally {
            await db.close();
          }
        }),
      );
  }

  program
    .command('search <db>')
    .description('nearest records to a text or a vector (read-only)')
    .requiredOption('--vault <name>', 'vault to search')
    .option('--text <query>', 'query text, embedded with the database\'s embedder')
    .option('--vector <json>', 'query vector as a JSON array')
    .option('-k <n>', 'hits', integer, 10)
    .option('--ef <n>', 'HNSW search breadth', integer)
    .option('--filter <json>', 'payload filter as JSON')
    .option('--exact', 'exact search, no graph')
    .addOption(new Option('--mode <mode>', 'vector (default), text (BM25) or hybrid').choices(['vector', 'text', 'hybrid']))
    .action(
      run(async (dbPath: string, o: { vault: string; text?: string; vector?: string; k: number; ef?: number; filter?: string; exact?: boolean; mode?: 'vector' | 'text' | 'hybrid' }, cmd: Command) => {
        if ((o.text === undefined) === (o.vector === undefined)) throw new CommanderError(ExitCode.usage, 'quiver.missing', 'search needs exactly one of --text and --vector');
        const parse = (what: string, text: string): unknown => {
          try {
            return JSON.parse(text);
          } catch {
            throw new CommanderError(ExitCode.usage, 'quiver.invalidArgument', `--${what} is not valid JSON`);
          }
        };
        const db = await open(dbPath, { readOnly: true });
        try {
          const hits = await db.vault(o.vault).search(o.text ?? (parse('vector', o.vector!) as number[]), {
            k: o.k,
            ...(o.ef ? { ef: o.ef } : {}),
            ...(o.filter ? { filter: parse('filter', o.filter) as Filter } : {}),
            ...(o.exact ? { exact: true } : {}),
            ...(o.mode ? { mode: o.mode } : {}),
          });
          print(hits, cmd.optsWithGlobals(), () =>
            hits.map((h) => `${h.score.toFixed(4)}  ${h.id}${h.ranks ? `  ${JSON.stringify(h.ranks)}` : ''}  ${h.payload ? JSON.stringify(h.payload) : ''}${h.document ? `\n        ${h.document.text.replace(/\s+/g, ' ').slice(0, 160)}` : ''}`).join('\n') || '(no hits)',
          );
        } finally {
          await db.close();
        }
      }),
    );

  program
    .command('add <db> <files...>')
    .description('chunk, embed and insert text files as documents <file>#<n>')
    .requiredOption('--vault <name>', 'vault to add to (created if missing)')
    .option('--chunk-size <n>', 'characters per chunk', integer, 1000)
    .option('--overlap <n>', 'characters shared by neighbouring chunks', integer, 200)
    .action(
      run(async (dbPath: string, files: string[], o: { vault: string; chunkSize: number; overlap: number }, cmd: Command) => {
        const json = Boolean(cmd.optsWithGlobals().json);
        const db = await open(dbPath, { create: false });
        try {
          const vault = db.hasVault(o.vault) ? db.vault(o.vault) : await db.createVault(o.vault);
          const bar = progress('adding', files.length, !json);
          const added: { file: string; chunks: number; removed: number }[] = [];
          for (const file of files) {
            const text = await readFile(file, 'utf8');
            const result = await vault.addText(path.basename(file), text, { size: o.chunkSize, overlap: o.overlap, payload: { file: path.resolve(file) } });
            added.push({ file, ...result });
            bar.tick();
          }
          bar.stop();
          print({ vault: o.vault, files: added }, cmd.optsWithGlobals(), () => added.map((a) => `${a.file}: ${a.chunks} chunks${a.removed ? `, ${a.removed} stale removed` : ''}`).join('\n'));
        } finally {
          await db.close();
        }
      }),
    );

  program
    .command('reembed <db>')
    .description('re-embed every document with another embedder and switch to it (crash-safe)')
    .requiredOption('--embedder <local|folder>', "'local' or a transformers model folder")
    .action(
      run(async (dbPath: string, o: { embedder: string }, cmd: Command) => {
        const json = Boolean(cmd.optsWithGlobals().json);
        const db = await open(dbPath, { create: false });
        try {
          const total = db.vaults().reduce((n, v) => n + v.records, 0);
          const bar = progress('re-embedding', total, !json);
          let last = 0;
          const result = await db.reembed(embedderOption(o.embedder), { onProgress: (done) => (bar.tick(done - last), (last = done)) });
          bar.stop();
          print(result, cmd.optsWithGlobals());
        } finally {
          await db.close();
        }
      }),
    );

  addObjectStoreOptions(program.command('backup <db> <dest>'))
    .description('a consistent, openable copy, taken while a writer keeps writing (no lock needed); <dest> may be s3://bucket/prefix')
    .action(
      run(async (dbPath: string, dest: string, o: object, cmd: Command) => {
        if (await maybeBackupToObjectStore(dbPath, dest, o, cmd)) return;
        const result = await backupDirectory(nodeFileSystem, dbPath, dest);
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
  addReplicateCommands(program);

  program
    .command('recover <db>')
    .description('open with salvage: keep the valid prefix of a corrupt log, move the rest aside')
    .action(
      run(async (dbPath: string, _o: unknown, cmd: Command) => {
        const db = await open(dbPath, { create: false, recovery: 'salvage' });
        const recovery = db.stats().recovery;
        await db.close();
        print({ recovery }, cmd.optsWithGlobals());
      }),
    );

  program
    .command('demo [db]')
    .description('build a small database, search it, print stats')
    .action(
      run(async (dbPath: string | undefined) => {
        await runDemo(dbPath, (line) => process.stdout.write(line + '\n'));
      }),
    );
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    return reportError(err, {});
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
}

process.exitCode = await main(process.argv);
