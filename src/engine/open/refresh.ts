import type { Embedder } from '../../embedder/embedder.js';
import { readEmbedderManifest, rehydrate } from '../../embedder/resolve.js';
import { releaseVectors, retireReplaced, type DbState } from '../../vault/db-state.js';
import type { DatabaseCore, DatabaseParts, ReaderParts } from './parts.js';
import { refreshView, type RefreshResult } from './reader.js';

/**
 * @internal db.refresh()'s body on a read-only handle: moves it to the latest committed state (README
 * "Readers and backup"), its embedder too if a re-embed changed it, and starts the check of the vectors a
 * reload read (`startCheck`).
 */
export async function refreshReader(core: DatabaseCore, reader: ReaderParts, startCheck: (state: DbState) => void): Promise<RefreshResult> {
  const parts = core.parts;
  await core.attachment()?.beforeRefresh?.();
  const next = await refreshView(parts.fs, parts.dir!, reader.view);
  const before = parts.state.lastLsn;
  const reloaded = next.state !== parts.state;
  let embedder: Embedder | null;
  const oldVaults = [...parts.state.vaults.values()];
  try {
    core.readable();
    embedder = reloaded ? await currentEmbedder(parts) : parts.embedder;
    core.readable();
    // One synchronous step: apply the pending records and install the view.
    next.commit();
  } catch (err) {
    if (reloaded) releaseVectors(next.state);
    throw err;
  }
  parts.state = next.state;
  retireReplaced(oldVaults, next.state);
  parts.embedder = embedder;
  reader.view = { state: next.state, walOffset: next.walOffset, walSalt: next.walSalt, root: next.root };
  startCheck(next.state);
  const { epoch, lastLsn } = next.state;
  await reader.lease?.update(epoch, lastLsn);
  return { epoch, lsn: lastLsn, appliedRecords: Math.max(0, lastLsn - before) };
}

/** A reader's embedder after a reload: the same one, or the recorded one if it changed. */
async function currentEmbedder(parts: DatabaseParts): Promise<Embedder | null> {
  const stored = await readEmbedderManifest(parts.fs, parts.dir!);
  if (!stored) return parts.embedder;
  if (parts.embedder?.manifest.fingerprint === stored.fingerprint) return parts.embedder;
  return rehydrate(parts.fs, parts.dir!, stored);
}
