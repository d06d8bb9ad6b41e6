import type { Command } from 'commander';
import { NotFoundError } from '../errors.js';
import { describe, print } from './output.js';
import { positiveInteger, run, time, withDb } from './run.js';

type Opts = { vault: string };

/** quiver branch ..., quiver trace ... */
export function addHistoryCommands(program: Command): void {
  const branch = program.command('branch').description('branches of a vault\'s layers');
  branch
    .command('list <db>')
    .requiredOption('--vault <name>', 'vault')
    .description('branches and their heads (read-only)')
    .action(
      run(async (dbPath: string, o: Opts, cmd: Command) => {
        await withDb(dbPath, false, async (db) => {
          const list = db.vault(o.vault).branches.list();
          print(list, cmd.optsWithGlobals(), () => list.map((b) => `${b.name}  ${b.head ?? '(empty)'}`).join('\n'));
        });
      }),
    );
  branch
    .command('show <db> <name>')
    .requiredOption('--vault <name>', 'vault')
    .option('--limit <n>', 'layers to show', positiveInteger, 20)
    .description('a branch with its latest layers (read-only)')
    .action(
      run(async (dbPath: string, name: string, o: Opts & { limit: number }, cmd: Command) => {
        await withDb(dbPath, false, async (db) => {
          const v = db.vault(o.vault);
          const b = v.branches.get(name);
          if (!b) throw new NotFoundError('branch', `no branch "${name}" in vault "${o.vault}"`);
          const log = v.layers.log(name, { limit: o.limit });
          print({ ...b, log }, cmd.optsWithGlobals(), () => [`${b.name}  head ${b.head ?? '(empty)'}`, ...log.map((l) => `  ${l.id}  parent ${l.parent ?? '-'}  ${l.at.toISOString()}  ${l.changes} changes${l.meta ? `  ${JSON.stringify(l.meta)}` : ''}`)].join('\n'));
        });
      }),
    );
  branch
    .command('create <db> <name>')
    .requiredOption('--vault <name>', 'vault')
    .option('--from <layer>', 'layer to start from (default: empty)')
    .description('create a branch at a layer (or empty)')
    .action(
      run(async (dbPath: string, name: string, o: Opts & { from?: string }, cmd: Command) => {
        await withDb(dbPath, true, async (db) => {
          await db.vault(o.vault).branches.create(name, o.from ?? null);
          print(db.vault(o.vault).branches.get(name), cmd.optsWithGlobals());
        });
      }),
    );
  branch
    .command('delete <db> <name>')
    .requiredOption('--vault <name>', 'vault')
    .option('--force', "delete even if it is the only reference to its layers")
    .description('delete a branch (refused when it is the only reference to its layers, unless --force)')
    .action(
      run(async (dbPath: string, name: string, o: Opts & { force?: boolean }, cmd: Command) => {
        await withDb(dbPath, true, async (db) => {
          await db.vault(o.vault).branches.delete(name, { force: o.force ?? false });
          print({ deleted: name }, cmd.optsWithGlobals());
        });
      }),
    );

  const trace = program.command('trace').description('completed execution traces of a vault');
  trace
    .command('list <db>')
    .requiredOption('--vault <name>', 'vault')
    .option('--prefix <p>', 'keys starting with')
    .option('--since <time>', 'at or after (ISO 8601 or ms)', time)
    .option('--until <time>', 'before (ISO 8601 or ms)', time)
    .option('--limit <n>', 'at most', positiveInteger)
    .option('--reverse', 'newest first')
    .description('traces in time order (read-only)')
    .action(
      run(async (dbPath: string, o: Opts & { prefix?: string; since?: number; until?: number; limit?: number; reverse?: boolean }, cmd: Command) => {
        await withDb(dbPath, false, async (db) => {
          const list = db.vault(o.vault).traces.list({
            ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
            ...(o.since !== undefined ? { since: o.since } : {}),
            ...(o.until !== undefined ? { until: o.until } : {}),
            ...(o.limit !== undefined ? { limit: o.limit } : {}),
            reverse: o.reverse ?? false,
          });
          print(list, cmd.optsWithGlobals(), () => list.map((t) => `${t.at.toISOString()}  ${t.key}  ${t.bytes} bytes`).join('\n') || '(no traces)');
        });
      }),
    );
  trace
    .command('get <db> <key>')
    .requiredOption('--vault <name>', 'vault')
    .description('one trace with its body (read-only)')
    .action(
      run(async (dbPath: string, key: string, o: Opts, cmd: Command) => {
        await withDb(dbPath, false, async (db) => {
          const t = db.vault(o.vault).traces.get(key);
          if (!t) throw new NotFoundError('trace', `no trace "${key}" in vault "${o.vault}"`);
          print(t, cmd.optsWithGlobals(), () => `${t.key}  ${t.at.toISOString()}\n${describe(t.trace, 1)}`);
        });
      }),
    );
}
