import { Command, CommanderError, Option } from 'commander';
import type { Filter, Payload, SearchKnobs } from '../index.js';
import { ExitCode, print } from './output.js';
import { integer, run, withDb } from './run.js';

/**
 * quiver get | scan | count | delete | patch (README "The quiver command"), and the search
 * flags of the everyday API. Reads open read-only, so they run beside a live writer.
 */

function json(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CommanderError(ExitCode.usage, 'quiver.invalidArgument', `--${what} is not valid JSON`);
  }
}

const number = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CommanderError(ExitCode.usage, 'quiver.invalidArgument', `not a number: ${value}`);
  return n;
};

/** Vectors print as plain arrays (JSON.stringify would make a Float32Array an object). */
function plain<T extends { vector?: Float32Array }>(r: T): Omit<T, 'vector'> & { vector?: number[] } {
  return r.vector ? { ...r, vector: Array.from(r.vector) } : (r as Omit<T, 'vector'>);
}

export function addRecordCommands(program: Command): void {
  program
    .command('get <db> <ids...>')
    .description('records by id, with vectors (read-only)')
    .requiredOption('--vault <name>', 'vault')
    .action(
      run(async (dbPath: string, ids: string[], o: { vault: string }, cmd: Command) => {
        return await withDb(dbPath, false, async (db) => {
          const records = db.vault(o.vault).getMany(ids).map((r) => (r ? plain(r) : null));
          print(records, cmd.optsWithGlobals(), () => records.map((r, i) => (r ? `${r.id}  ${JSON.stringify(r.payload)}${r.document ? `\n        ${r.document.text.replace(/\s+/g, ' ').slice(0, 160)}` : ''}` : `${ids[i]}  (not found)`)).join('\n'));
          return records.every((r) => r !== null) ? ExitCode.ok : ExitCode.error;
        });
      }),
    );

  program
    .command('scan <db>')
    .description('one page of records in id order; --json prints JSON Lines, then {"next": cursor} (read-only)')
    .requiredOption('--vault <name>', 'vault')
    .option('--filter <json>', 'payload filter as JSON')
    .option('--limit <n>', 'records per page (at most 10000)', integer, 100)
    .option('--after <cursor>', 'the cursor a previous page printed')
    .option('--vectors', 'include vectors')
    .action(
      run(async (dbPath: string, o: { vault: string; filter?: string; limit: number; after?: string; vectors?: boolean }, cmd: Command) => {
        return await withDb(dbPath, false, async (db) => {
          const page = db.vault(o.vault).scan({ limit: o.limit, ...(o.filter ? { filter: json('filter', o.filter) as Filter } : {}), ...(o.after ? { after: o.after } : {}), withVectors: Boolean(o.vectors) });
          const lines = page.records.map((r) => JSON.stringify(plain(r)));
          if (cmd.optsWithGlobals().json) process.stdout.write([...lines, JSON.stringify({ next: page.next })].join('\n') + '\n');
          else process.stdout.write(page.records.map((r) => `${r.id}  ${JSON.stringify(r.payload)}`).join('\n') + (page.records.length ? '\n' : '') + (page.next ? `next: ${page.next}\n` : '(end)\n'));
        });
      }),
    );

  program
    .command('count <db>')
    .description('records, or records matching a filter (read-only)')
    .requiredOption('--vault <name>', 'vault')
    .option('--filter <json>', 'payload filter as JSON')
    .action(
      run(async (dbPath: string, o: { vault: string; filter?: string }, cmd: Command) => {
        return await withDb(dbPath, false, async (db) => {
          const count = db.vault(o.vault).count(o.filter ? (json('filter', o.filter) as Filter) : undefined);
          print({ count }, cmd.optsWithGlobals(), () => String(count));
        });
      }),
    );

  program
    .command('delete <db>')
    .description('erase records by id, or every record matching a filter (one atomic log record)')
    .requiredOption('--vault <name>', 'vault')
    .option('--id <ids...>', 'record ids')
    .option('--filter <json>', 'payload filter as JSON')
    .option('--all', 'with --filter \'{}\': erase every record')
    .action(
      run(async (dbPath: string, o: { vault: string; id?: string[]; filter?: string; all?: boolean }, cmd: Command) => {
        if ((o.id === undefined) === (o.filter === undefined)) throw new CommanderError(ExitCode.usage, 'quiver.missing', 'delete needs exactly one of --id and --filter');
        return await withDb(dbPath, true, async (db) => {
          const v = db.vault(o.vault);
          let deleted: number;
          if (o.id) {
            const present = [...new Set(o.id)].filter((id) => v.has(id));
            if (present.length > 0) await db.batch(present.map((id) => ({ op: 'erase' as const, vault: o.vault, id })));
            deleted = present.length;
          } else {
            deleted = await v.eraseWhere(json('filter', o.filter!) as Filter, { all: Boolean(o.all) });
          }
          print({ deleted }, cmd.optsWithGlobals(), () => `${deleted} deleted`);
        });
      }),
    );

  program
    .command('patch <db>')
    .description('change payloads only (vectors and documents kept): --set merges by dotted path, --unset removes paths')
    .requiredOption('--vault <name>', 'vault')
    .option('--id <id>', 'record id')
    .option('--filter <json>', 'payload filter as JSON')
    .option('--set <json>', 'object of dotted path -> value')
    .option('--unset <paths>', 'comma-separated dotted paths')
    .action(
      run(async (dbPath: string, o: { vault: string; id?: string; filter?: string; set?: string; unset?: string }, cmd: Command) => {
        if ((o.id === undefined) === (o.filter === undefined)) throw new CommanderError(ExitCode.usage, 'quiver.missing', 'patch needs exactly one of --id and --filter');
        const spec = { ...(o.set ? { set: json('set', o.set) as Payload } : {}), ...(o.unset ? { unset: o.unset.split(',').map((s) => s.trim()).filter(Boolean) } : {}) };
        return await withDb(dbPath, true, async (db) => {
          const v = db.vault(o.vault);
          const patched = o.id !== undefined ? Number(await v.patch(o.id, spec)) : await v.patchWhere(json('filter', o.filter!) as Filter, spec);
          print({ patched }, cmd.optsWithGlobals(), () => `${patched} patched`);
          return o.id !== undefined && patched === 0 ? ExitCode.error : ExitCode.ok;
        });
      }),
    );
}

/** The search command's everyday-API flags. */
export function addSearchKnobOptions(command: Command): Command {
  return command
    .option('--min-score <n>', 'drop hits scoring below this (l2 vector search: the largest distance kept)', number)
    .addOption(new Option('--mmr [lambda]', 'maximal marginal relevance (lambda 0..1, default 0.5)').argParser(number))
    .option('--group-by <path>', "group hits by a payload path or '$doc'")
    .option('--group-size <n>', 'hits per group (default 1)', integer)
    .option('--vectors', 'include each hit\'s vector');
}

export function searchKnobs(o: { minScore?: number; mmr?: number | boolean; groupBy?: string; groupSize?: number; vectors?: boolean }, metric: string, mode: string | undefined): SearchKnobs {
  const knobs: SearchKnobs = {};
  if (o.minScore !== undefined) {
    if (metric === 'l2' && (mode ?? 'vector') === 'vector') knobs.maxDistance = o.minScore;
    else knobs.minScore = o.minScore;
  }
  if (o.mmr !== undefined && o.mmr !== false) knobs.mmr = o.mmr === true ? true : { lambda: o.mmr };
  if (o.groupBy !== undefined) knobs.groupBy = o.groupBy;
  if (o.groupSize !== undefined) knobs.groupSize = o.groupSize;
  if (o.vectors) knobs.withVectors = true;
  return knobs;
}

export { plain as plainVectors };
