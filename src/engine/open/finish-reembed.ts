import * as path from 'node:path';
import { CorruptionError } from '../../errors.js';
import { FileName } from '../../format/constants.js';
import { readdirIfExists, readIfExists, type FileSystem } from '../../fs/file-system.js';
import { truncateLogFile } from '../../wal/wal-file.js';

/**
 * Re-embedding switches IDENTITY (the dimension may change), TEXT_EMBEDDER.manifest, the
 * embedder's artifact and every vault's vectors together (FORMAT.md "REEMBED"). No single rename
 * covers several files, so it is a small redo log: every new file is written beside its target
 * as `<name>.next`; the intent file REEMBED, listing the renames, is written atomically (the
 * commit point); the renames are made and REEMBED removed. Open finishes a committed switch and
 * discards `.next` files that no intent names.
 */
export const INTENT = 'REEMBED';
export const NEXT = '.next';

/**
 * Completes a committed switch (idempotent: renames whose source is gone were made already),
 * then empties the log, whose records the new checkpoint covers. Without an intent, removes
 * `.next` files an interrupted re-embed left. Returns whether a switch was completed.
 */
export async function finishReembed(fs: FileSystem, dir: string): Promise<boolean> {
  const bytes = await readIfExists(fs, path.join(dir, INTENT), INTENT);
  if (!bytes) {
    for (const name of [FileName.identity, FileName.embedderManifest, FileName.manifest, FileName.snapshot]) {
      await fs.unlink(path.join(dir, name + NEXT)).catch(() => undefined);
    }
    for (const name of await readdirIfExists(fs, path.join(dir, FileName.textEmbedder))) {
      if (name.endsWith(NEXT)) await fs.unlink(path.join(dir, FileName.textEmbedder, name)).catch(() => undefined);
    }
    return false;
  }
  let intent: { renames: [string, string][]; remove: string[] };
  try {
    intent = JSON.parse(bytes.toString('utf8')) as typeof intent;
  } catch (cause) {
    throw new CorruptionError(INTENT, 'is not JSON', { cause });
  }
  const safe = (p: string) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..');
  if (!intent.renames.every(([a, b]) => safe(a) && safe(b)) || !intent.remove.every(safe)) throw new CorruptionError(INTENT, 'names a path outside the database');
  for (const [from, to] of intent.renames) {
    if (await fs.exists(path.join(dir, from))) await fs.rename(path.join(dir, from), path.join(dir, to));
  }
  if ((await fs.stat(path.join(dir, FileName.textEmbedder))) !== null) await fs.syncDir(path.join(dir, FileName.textEmbedder));
  await fs.syncDir(dir);
  await truncateLogFile(fs, path.join(dir, FileName.wal));
  for (const p of intent.remove) await fs.unlink(path.join(dir, p)).catch(() => undefined);
  await fs.unlink(path.join(dir, INTENT));
  await fs.syncDir(dir);
  return true;
}
