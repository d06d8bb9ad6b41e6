import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ioError, ValidationError } from '../errors.js';
import { chunkText, type DocumentInput } from '../index.js';
import { print } from './output.js';
import { nonNegativeInteger, positiveInteger, run, usage, withDb } from './run.js';

/** The deepest folder holding every file. */
function commonParent(files: string[]): string {
  let parent = path.dirname(files[0]!);
  for (const f of files) while (path.relative(parent, f).startsWith('..') || path.isAbsolute(path.relative(parent, f))) parent = path.dirname(parent);
  return parent;
}

/**
 * `quiver add <db> --vault V <files...>`: each file becomes a document whose id is its path
 * relative to --base (default: the files' common parent, so a/LICENSE and b/LICENSE stay two
 * documents), chunked as `<id>#<n>`. Every file is read, checked and chunked before anything
 * is written; then all of them (and the stale chunks of shorter re-added files) commit in one
 * batch, so a run commits every file or none.
 */
export function addAddCommand(program: Command): void {
  program
    .command('add <db> <files...>')
    .description('chunk, embed and insert text files as documents <path>#<n>, all in one batch')
    .requiredOption('--vault <name>', 'vault to add to (created if missing)')
    .option('--base <dir>', 'document ids are file paths relative to this folder (default: the files\' common parent)')
    .option('--chunk-size <n>', 'characters per chunk', positiveInteger, 1000)
    .option('--overlap <n>', 'characters shared by neighbouring chunks', nonNegativeInteger, 200)
    .option('--embedder <local|folder>', "the database's embedder, where its model folder moved (default: the recorded one)")
    .action(
      run(async (dbPath: string, files: string[], o: { vault: string; base?: string; chunkSize: number; overlap: number; embedder?: string }, cmd: Command) => {
        const absolute = files.map((f) => path.resolve(f));
        const base = o.base !== undefined ? path.resolve(o.base) : commonParent(absolute);
        const owner = new Map<string, string>();
        const sources = absolute.map((file, i) => {
          const rel = path.relative(base, file);
          if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw usage(`${files[i]} is not inside --base ${base}`);
          const id = rel.split(path.sep).join('/');
          const other = owner.get(id);
          if (other !== undefined) throw new ValidationError('files', `${other} and ${files[i]} would both be document "${id}"; nothing was written`);
          owner.set(id, files[i]!);
          return { file: files[i]!, absolute: file, id };
        });
        const docs: DocumentInput[] = [];
        const counts: { file: string; id: string; chunks: number }[] = [];
        for (const s of sources) {
          let text: string;
          try {
            text = await readFile(s.absolute, 'utf8');
          } catch (cause) {
            throw ioError('reading', s.file, cause);
          }
          if (!/[\p{L}\p{N}]/u.test(text)) throw new ValidationError('files', `${s.file} ${text.length === 0 ? 'is empty' : 'has no words'}; nothing was written`);
          const chunks = chunkText(s.id, text, { size: o.chunkSize, overlap: o.overlap });
          for (const c of chunks) docs.push({ ...c, payload: { file: s.absolute, path: s.id } });
          counts.push({ file: s.file, id: s.id, chunks: chunks.length });
        }
        await withDb(dbPath, { create: false, ...(o.embedder ? { embedder: o.embedder === 'local' ? 'local' : { transformers: o.embedder } } : {}) }, async (db) => {
          const created = !db.hasVault(o.vault);
          const vault = created ? await db.createVault(o.vault) : db.vault(o.vault);
          const added = counts.map((c) => {
            const stale: string[] = [];
            for (let n = c.chunks; vault.has(`${c.id}#${n}`); n++) stale.push(`${c.id}#${n}`);
            return { ...c, removed: stale.length, stale };
          });
          try {
            await vault.addDocuments(docs, { erase: added.flatMap((a) => a.stale) });
          } catch (err) {
            // Nothing of the batch was written; do not leave behind the vault made for it either.
            if (created) await db.dropVault(o.vault).catch(() => undefined);
            throw err;
          }
          const report = added.map(({ stale: _stale, ...a }) => a);
          print({ vault: o.vault, base, files: report }, cmd.optsWithGlobals(), () => report.map((a) => `${a.file} -> ${a.id}: ${a.chunks} chunks${a.removed ? `, ${a.removed} stale removed` : ''}`).join('\n'));
        });
      }),
    );
}
