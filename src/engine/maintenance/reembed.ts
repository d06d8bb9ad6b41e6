import * as path from 'node:path';
import { ConfigError, QuiverError, ioError } from '../../errors.js';
import { FileName, TMP_SUFFIX } from '../../format/constants.js';
import { encodeIdentity, type Identity } from '../../format/identity.js';
import { atomicReplace } from '../../fs/atomic-replace.js';
import { overlay, type FileSystem } from '../../fs/file-system.js';
import type { Embedder } from '../../embedder/embedder.js';
import { createEmbedder, type EmbedderOption } from '../../embedder/resolve.js';
import { encodeEmbedderManifest } from '../../embedder/manifest-file.js';
import { lineageOf } from '../../vault/document.js';
import { RecordStore } from '../../vault/record-store.js';
import type { StoredRecord } from '../../vault/stored-record.js';
import { createIndex, VaultState } from '../../vault/vault-state.js';
import { PayloadIndex } from '../../vault/payload-index.js';
import { referencedFiles, removeUnreferenced, writeSegmentedCheckpoint, writeSnapshotCheckpoint } from './checkpoint.js';
import type { DatabaseCore } from '../open/parts.js';
import { checkpointNow } from './run-checkpoint.js';
import { emptyState, vectorsLoaded, type DbState } from '../../vault/db-state.js';
import { finishReembed, INTENT, NEXT } from '../open/finish-reembed.js';

/** Writing the switch; open finishes it (open/finish-reembed.ts has the protocol). */

export interface ReembedResult {
  documents: number;
  vaults: number;
  dimension: number;
  epoch: number;
  lsn: number;
}

/** The new state: every document record re-embedded, new lineage, indexes rebuilt. */
export async function reembedState(state: DbState, embedder: Embedder, onProgress?: (done: number, total: number) => void): Promise<{ state: DbState; documents: number }> {
  const dimension = embedder.dimension;
  const identity: Identity = { ...state.identity, dimension };
  const total = [...state.vaults.values()].reduce((n, v) => n + [...v.records.values()].filter((r) => r.doc).length, 0);
  const raw = [...state.vaults.values()].reduce((n, v) => n + [...v.records.values()].filter((r) => !r.doc).length, 0);
  if (raw > 0 && dimension !== state.identity.dimension) {
    throw new ConfigError('CONFIG_MISMATCH', 'embedder', `the new embedder has ${dimension} dimensions, not ${state.identity.dimension}, and ${raw} records are plain vectors with no text to re-embed`);
  }
  await vectorsLoaded(state);
  const next = emptyState(identity);
  Object.assign(next, { nextVaultNumber: state.nextVaultNumber, lastLsn: state.lastLsn + 1, epoch: state.epoch, checkpointLsn: state.checkpointLsn });
  // The switch's root records the new embedder beside the same log.
  next.record = state.record ? { logId: state.record.logId, embedder: embedder.manifest.fingerprint } : null;
  const lineage = lineageOf(embedder.manifest);
  let done = 0;
  for (const old of [...state.vaults.values()].sort((a, b) => a.number - b.number)) {
    const vault = new VaultState(old.number, old.name, { ...old.quota }, dimension, createIndex(identity.index, identity.metric, dimension), next.lastLsn);
    vault.records = new RecordStore(dimension);
    vault.layers = old.layers;
    vault.traces = old.traces;
    vault.text = old.text;
    for (const field of old.payloadIndexes.keys()) vault.payloadIndexes.set(field, new PayloadIndex(field));
    const records = [...old.records.values()].sort((a, b) => a.label - b.label);
    const docs = records.filter((r) => r.doc);
    const vectors = new Map<string, Float32Array>();
    for (let i = 0; i < docs.length; i += 256) {
      const batch = docs.slice(i, i + 256);
      const embedded = await embedder.embed(batch.map((r) => r.doc!.text));
      batch.forEach((r, j) => vectors.set(r.id, embedded[j]!));
      done += batch.length;
      onProgress?.(done, total);
    }
    records.forEach((r, label) => {
      const record: StoredRecord = r.doc ? r.with({ label, vector: vectors.get(r.id)!, doc: { ...r.doc, lineage }, lsn: next.lastLsn }) : r.with({ label });
      vault.records.put(record);
      vault.index.add(label, record.vector);
    });
    vault.reindexPayloads();
    await vault.index.drain();
    next.vaults.set(vault.number, vault);
    next.names.set(vault.name, vault.number);
  }
  return { state: next, documents: total };
}

/** Writes the new state and switches to it through the REEMBED intent. */
export async function commitReembed(fs: FileSystem, dir: string, state: DbState, embedder: Embedder, previousArtifact: string | null): Promise<void> {
  const rel = (name: string) => path.join(dir, name);
  const renames: [string, string][] = [];
  const stage = async (target: string, chunks: Uint8Array[]): Promise<void> => {
    await fs.writeFileSynced(rel(target + NEXT), chunks);
    renames.push([target + NEXT, target]);
  };
  const { manifest } = embedder;
  if (manifest.artifact && embedder.artifact) {
    await fs.mkdir(rel(FileName.textEmbedder));
    await stage(manifest.artifact, [embedder.artifact()]);
  }
  await stage(FileName.embedderManifest, encodeEmbedderManifest(manifest));
  await stage(FileName.identity, encodeIdentity(state.identity));
  // The checkpoint writers write their root (manifest or snapshot) in place; here it must be
  // staged, so they write into a view of the directory whose root name is redirected.
  const root = state.identity.storage === 'snapshot' ? FileName.snapshot : FileName.manifest;
  const staged = overlay(fs, {
    writeFileSynced: (p, c) => fs.writeFileSynced(p === rel(root) + TMP_SUFFIX ? rel(root + NEXT) : p, c),
    rename: (from, to) => (to === rel(root) ? Promise.resolve() : fs.rename(from, to)),
    unlink: (p) => (p.startsWith(rel(FileName.segments)) ? Promise.resolve() : fs.unlink(p)),
  });
  for (const vault of state.vaults.values()) vault.segmentLsn = -1;
  state.checkpointLsn = state.lastLsn;
  await (state.identity.storage === 'snapshot' ? writeSnapshotCheckpoint(staged, dir, state) : writeSegmentedCheckpoint(staged, dir, state));
  renames.push([root + NEXT, root]);
  const remove = previousArtifact && previousArtifact !== manifest.artifact ? [previousArtifact] : [];
  // Every staged file's entry is durable before the intent names it: finishReembed takes a
  // missing source for a rename already made, so an artifact lost to a power cut would stay lost.
  if (manifest.artifact && embedder.artifact) await fs.syncDir(rel(FileName.textEmbedder));
  await fs.syncDir(dir);
  await atomicReplace(fs, rel(INTENT), [Buffer.from(JSON.stringify({ renames, remove }) + '\n')]);
  await finishReembed(fs, dir);
}

/**
 * @internal db.reembed()'s body, in an exclusive slot: checkpoints, builds the re-embedded state beside
 * the live one, commits the switch and installs the state and the embedder.
 */
export async function reembed(core: DatabaseCore, option: EmbedderOption, onProgress?: (done: number, total: number) => void): Promise<ReembedResult> {
  const embedder = await createEmbedder(option);
  core.writable();
  const { dir, fs } = core.parts;
  if (dir) await checkpointNow(core);
  const { state, documents } = await reembedState(core.parts.state, embedder, onProgress);
  if (dir) {
    try {
      await commitReembed(fs, dir, state, embedder, core.parts.embedder?.manifest.artifact ?? null);
    } catch (err) {
      // Committed (the intent exists) but not finished: only a reopen can finish it.
      if (await fs.exists(path.join(dir, INTENT)).catch(() => true)) throw core.fail(err);
      throw err instanceof QuiverError ? err : ioError('re-embedding', dir, err);
    }
    await removeUnreferenced(fs, dir, referencedFiles(state)).catch(() => undefined);
  }
  const before = core.parts.state;
  core.parts.state = state;
  core.parts.embedder = embedder;
  // The replaced vaults' mapped graphs and vectors (a writer maps them) go once nothing reads
  // them; a block the new vault's plain-vector records still read from (they keep their rows,
  // r.with({ label })) passes to the new vault instead.
  for (const old of before.vaults.values()) {
    const vault = state.vaults.get(old.number);
    const block = old.stored;
    if (vault && block && vault.stored === null && [...vault.records.values()].some((r) => r.rowIn(block) >= 0)) {
      vault.stored = block;
      old.stored = null;
    }
    old.retire();
  }
  return { documents, vaults: state.vaults.size, dimension: embedder.dimension, epoch: state.epoch, lsn: state.lastLsn };
}
