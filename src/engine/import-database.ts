import * as path from 'node:path';
import { ConfigError, EmbedderDriftError, ioError } from '../errors.js';
import type { Embedder } from '../embedder/embedder.js';
import { createEmbedder, driftBetween, type EmbedderOption } from '../embedder/resolve.js';
import { FileName, FORMAT_VERSION } from '../format/constants.js';
import { nodeFileSystem, readdirIfExists } from '../fs/file-system.js';
import { readExportHead, type ExportHead, type ExportSummary } from './interchange/export.js';
import { open } from './open-database.js';
import type { OpenOptions } from './open/options.js';

export interface ImportDatabaseOptions extends Omit<OpenOptions, 'dimension' | 'metric' | 'index' | 'storage' | 'create' | 'readOnly'> {
  onProgress?: (done: number, total: number) => void;
}

export interface ImportDatabaseResult extends ExportSummary {
  /** Whether the database was created from the export's identity and embedder. */
  created: boolean;
}

/**
 * The embedder a database created from an export gets: the one given, else the export's own
 * recreated ('local', or the transformers model folder it names). It must match the export's
 * manifest field for field (EmbedderDriftError), checked before anything is created.
 */
async function embedderFor(head: ExportHead, given: EmbedderOption | undefined): Promise<Embedder | undefined> {
  const recorded = head.embedder;
  if (given === undefined && !recorded) return undefined;
  let option = given;
  if (option === undefined) {
    if (recorded!.provider === 'local') option = 'local';
    else if (recorded!.provider === 'transformers') option = { transformers: recorded!.model };
    else throw new ConfigError('CONFIG_INVALID', 'embedder', `the export's embedder (provider "${recorded!.provider}") cannot be recreated: pass the embedder`);
  }
  const embedder = await createEmbedder(option);
  if (recorded) {
    const drift = driftBetween(recorded, embedder.manifest);
    if (drift.length > 0) throw new EmbedderDriftError(drift);
  }
  return embedder;
}

/**
 * Imports the export at `source` into the database at `dir` (README "Export and import"). Where
 * no database exists yet (an absent or empty directory), one is created from the export's
 * identity (dimension, metric, index, storage) and embedder first: the migration path export,
 * re-create, load. The import itself is atomic (Database.import). A creation whose import then
 * fails is removed again; a crash between the two leaves an empty database, which a retry fills.
 */
export async function importDatabase(dir: string, source: string, options: ImportDatabaseOptions = {}): Promise<ImportDatabaseResult> {
  const root = path.resolve(dir);
  const { onProgress, ...openOptions } = options;
  const fs = options.fs ?? nodeFileSystem;
  const exists = await fs.exists(path.join(root, FileName.identity));
  if (exists) {
    const db = await open(root, { ...openOptions, create: false });
    try {
      return { ...(await db.import(source, onProgress ? { onProgress } : {})), created: false };
    } finally {
      await db.close();
    }
  }
  const head = await readExportHead(source);
  if (head.identity.formatVersion !== FORMAT_VERSION) {
    throw new ConfigError('CONFIG_MISMATCH', 'formatVersion', `formatVersion: the export has ${JSON.stringify(head.identity.formatVersion)}, this build writes ${FORMAT_VERSION}`);
  }
  const embedder = await embedderFor(head, openOptions.embedder);
  // stat is null only for ENOENT: any other failure must not pass for "absent", or a failed
  // import would remove a directory that was there.
  const absent = (await fs.stat(root).catch((cause: unknown) => {
    throw ioError('inspecting', root, cause);
  })) === null;
  const { dimension, metric, index, storage } = head.identity as Pick<OpenOptions, 'dimension' | 'metric' | 'index' | 'storage'>;
  const db = await open(root, { ...openOptions, ...(embedder ? { embedder } : {}), dimension, metric, index, storage, create: true });
  let result: ExportSummary;
  try {
    result = await db.import(source, onProgress ? { onProgress } : {});
  } catch (err) {
    // Nothing of the export went in (the import is atomic): take back the database this call
    // created, IDENTITY first, so an interrupted removal leaves no half database. One that holds
    // vaults is someone else's, created meanwhile: it stays.
    const empty = db.status === 'open' && db.vaults().length === 0;
    await db.close().catch(() => undefined);
    if (empty) {
      await fs.removeTree(path.join(root, FileName.identity)).catch(() => undefined);
      if (absent) await fs.removeTree(root).catch(() => undefined);
      // Best effort, as every step here: the import's own error is the one to report.
      else for (const name of await readdirIfExists(fs, root).catch(() => [] as string[])) await fs.removeTree(path.join(root, name)).catch(() => undefined);
    }
    throw err;
  }
  await db.close();
  return { ...result, created: true };
}
