import * as path from 'node:path';
import { CorruptionError } from '../../errors.js';
import { FileName } from '../../format/constants.js';
import { decodeIdentity, type Identity } from '../../format/identity.js';
import { INTENT } from './finish-reembed.js';
import { readIfExists, sameBytes, type FileSystem } from '../../fs/file-system.js';
import { decodeManifest, type Manifest } from '../../segments/manifest.js';
import { decodeRecord, type Op } from '../../format/records.js';
import { findValidFrame, readFrames } from '../../wal/wal-reader.js';
import { parseWalHeader } from '../../wal/frame.js';
import { readEmbedderManifest } from '../../embedder/resolve.js';
import { verifyEmbedder, verifyLog } from './file-references.js';
import { applyOp } from '../../vault/apply.js';
import { loadSegmented, loadSnapshot } from './load.js';
import { releaseVectors, type DbState } from '../../vault/db-state.js';
import { MappedHnswIndex } from '../../vault/index/mapped-hnsw-index.js';

/**
 * How a read-only process follows a live writer (FORMAT.md "Readers").
 *
 * A reader's state is a checkpoint plus the log records after it, applied strictly in LSN order.
 * LSNs are contiguous, so a valid frame whose LSN is lastLsn + 1 is the next operation wherever
 * it is found; a reader applies nothing else. Frames are checked for that before any is applied,
 * so a read that raced a checkpoint (the log truncated and rewritten under it, or segment files
 * removed) is retried from the manifest and never leaves a half-advanced state.
 */
export interface ReaderView {
  state: DbState;
  /** Log bytes consumed so far, and the root file's bytes they follow. */
  walOffset: number;
  /** The salt of the log generation `walOffset` is in (null before any, or in a version 1 log). */
  walSalt: number | null;
  root: Buffer | null;
}

/** A view ready to be installed: `commit()` applies its pending records; call it and swap in one step. */
export interface PendingView extends ReaderView {
  /** The LSN the view reaches once committed. */
  lsn: number;
  commit(): number;
}

/** The LSN a state reaches with `ops` applied. */
const reaching = (state: DbState, ops: [number, Op[]][]): number => ops.at(-1)?.[0] ?? state.lastLsn;

export interface RefreshResult {
  epoch: number;
  lsn: number;
  /** Log records applied by this refresh. */
  appliedRecords: number;
}

const ATTEMPTS = 20;
/** Further reads of the log before damage followed by valid records counts as corruption. */
const RELOOKS = 3;

class Raced extends Error {}

function rootName(identity: Identity): string {
  return identity.storage === 'snapshot' ? FileName.snapshot : FileName.manifest;
}

/**
 * The records after `state.lastLsn` found in the log: decoded, contiguous, not yet applied. They
 * are read from `from` if the log is still the generation `salt` names, else from its start (a
 * writer reopened or a checkpoint emptied it: offsets in the old one mean nothing here). The log
 * must be the one the root records. `null` means the log no longer continues this state (it
 * was emptied by a newer checkpoint): start again from the root.
 */
async function pendingRecords(fs: FileSystem, dir: string, state: DbState, from: number, salt: number | null): Promise<{ ops: [number, Op[]][]; end: number; salt: number | null } | null> {
  let log: Buffer;
  let header: ReturnType<typeof parseWalHeader>;
  let frames: ReturnType<typeof readFrames>['frames'];
  let end: number;
  let start: number;
  for (let look = 0; ; look++) {
    const found = await readIfExists(fs, path.join(dir, FileName.wal), FileName.wal);
    log = found ?? Buffer.alloc(0);
    header = parseWalHeader(log);
    verifyLog(state.record, header, found !== null);
    if (!header) return { ops: [], end: 0, salt: null };
    start = header.salt === salt && from >= header.size ? from : header.size;
    if (log.byteLength < start) return null;
    const scan = readFrames(log, start, 0, header.salt);
    ({ frames, end } = scan);
    // A live writer leaves at most a torn tail; valid frames after damage are corruption
    // (loadView retries first, in case a checkpoint rewrote the log under this read). But one
    // read of the file is several read(2) calls: a log cut back in place (a re-embed, or a
    // version 1 log's checkpoint) and new appends between two of them give the old log's first
    // part followed by the new frames, damage then valid frames under a root that did not
    // change. A second look shows a whole log; only damage that stays across looks is corruption.
    const resumes = scan.stop ? findValidFrame(log, end + 1, frames.at(-1)?.lsn ?? 0, header.salt) : null;
    if (resumes === null) break;
    if (look >= RELOOKS) throw new CorruptionError(FileName.wal, `damaged record at offset ${end} (${scan.stop}) is followed by a valid record at offset ${resumes}`, { offset: end });
    await new Promise((resolve) => setTimeout(resolve, 5 * (look + 1)));
  }
  const ops: [number, Op[]][] = [];
  let next = state.lastLsn + 1;
  for (const frame of frames) {
    if (frame.lsn < next) continue;
    if (frame.lsn !== next) return null;
    ops.push([frame.lsn, decodeRecord(frame.type, frame.body, state.identity.dimension, frame.offset)]);
    next++;
  }
  return { ops, end: Math.max(end, start), salt: header.salt };
}

/** The root file's bytes now (null: absent). */
function readRoot(fs: FileSystem, dir: string, identity: Identity): Promise<Buffer | null> {
  return readIfExists(fs, path.join(dir, rootName(identity)), rootName(identity));
}

function apply(state: DbState, ops: [number, Op[]][]): number {
  for (const [lsn, group] of ops) {
    for (const op of group) {
      if (!applyOp(state, op, lsn)) throw new CorruptionError(FileName.wal, `LSN ${lsn} names a vault that does not exist`);
    }
    state.lastLsn = lsn;
  }
  return ops.length;
}

async function loadRoot(fs: FileSystem, dir: string, identity: Identity, root: Buffer | null, reuse?: DbState): Promise<DbState> {
  return identity.storage === 'snapshot' ? loadSnapshot(fs, dir, identity, root) : loadSegmented(fs, dir, identity, root, reuse, true);
}

/**
 * Loads (or reloads) a consistent view: the root file, the checkpoint it names, the log after it.
 * Damage that may be a race (a file named by the manifest gone, a log that skips) is retried while
 * the root keeps changing; when the root stands still and the damage remains, it is corruption.
 */
export async function loadView(fs: FileSystem, dir: string, known: Identity, previous?: ReaderView): Promise<PendingView> {
  let lastError: unknown = null;
  let identity = known;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // A re-embed switching files: wait for it to finish. IDENTITY is re-read every attempt,
    // since a re-embed may change the dimension.
    if (await fs.exists(path.join(dir, INTENT))) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, 2 ** attempt)));
      continue;
    }
    const idBytes = await readIfExists(fs, path.join(dir, FileName.identity), FileName.identity);
    if (idBytes) identity = decodeIdentity(idBytes);
    const root = await readIfExists(fs, path.join(dir, rootName(identity)), rootName(identity));
    let state: DbState | null = null;
    try {
      state = await loadRoot(fs, dir, identity, root, previous?.state);
      const pending = await pendingRecords(fs, dir, state, 0, null);
      if (!pending) throw new Raced('the log was truncated by a newer checkpoint');
      verifyEmbedder(state.record, await readEmbedderManifest(fs, dir));
      // A checkpoint commits its root before it empties the log. So if the root is unchanged now,
      // the log read above still held every record after this root's checkpoint; if it changed,
      // that read may have found the log already emptied, and this state would be one
      // checkpoint old (behind what an earlier open returned): start again.
      if (!sameBytes(await readRoot(fs, dir, identity), root)) throw new Raced('a checkpoint committed while the log was read');
      const loaded = state;
      return { state, lsn: reaching(state, pending.ops), walOffset: pending.end, walSalt: pending.salt, root, commit: () => apply(loaded, pending.ops) };
    } catch (err) {
      if (state) releaseVectors(state);
      if (!(err instanceof CorruptionError) && !(err instanceof Raced)) throw err;
      lastError = err;
      const now = await readIfExists(fs, path.join(dir, rootName(identity)), rootName(identity));
      const idNow = await readIfExists(fs, path.join(dir, FileName.identity), FileName.identity);
      const moved = !sameBytes(now, root) || !sameBytes(idNow, idBytes) || (await fs.exists(path.join(dir, INTENT)));
      if (!moved && err instanceof CorruptionError) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** attempt)));
    }
  }
  throw lastError instanceof CorruptionError ? lastError : new CorruptionError(rootName(identity), `could not read a consistent state in ${ATTEMPTS} attempts while a writer checkpointed: ${(lastError as Error)?.message}`);
}

/**
 * Moves a view to the latest committed state. Cheap when no checkpoint happened (the log is read
 * from where the last refresh stopped) or when the reader is already past the new checkpoint
 * (the new log is read from its start); otherwise only vaults whose segments changed are reloaded.
 */
export async function refreshView(fs: FileSystem, dir: string, view: ReaderView): Promise<PendingView> {
  const identity = view.state.identity;
  const root = await readRoot(fs, dir, identity);
  if (sameBytes(root, view.root)) {
    const pending = await pendingRecords(fs, dir, view.state, view.walOffset, view.walSalt);
    // As in loadView: the log counts only if the root did not move while it was read.
    if (pending && sameBytes(await readRoot(fs, dir, identity), root)) {
      return { state: view.state, lsn: reaching(view.state, pending.ops), root: view.root, walOffset: pending.end, walSalt: pending.salt, commit: () => apply(view.state, pending.ops) };
    }
  } else if (root && identity.storage === 'segmented') {
    const manifest = decodeManifest(root);
    if (manifest.checkpointLsn <= view.state.lastLsn && (outgrown(view.state) || codesChanged(view.state, manifest))) {
      // Past the new checkpoint, but a mapped graph's private tail has outgrown its bound, or the
      // checkpoint added or dropped a graph's codes (a writer changed quantization): load the new
      // checkpoint, whose graph holds those vectors and is shared (load.ts keeps the vaults it can). Never a step back: a
      // load that would not reach this state's LSN (not expected: the records past a checkpoint
      // stay in the log) is dropped for the path below.
      const adopted = await loadView(fs, dir, identity, view);
      if (adopted.lsn >= view.state.lastLsn) return adopted;
      releaseVectors(adopted.state);
    }
    if (manifest.checkpointLsn <= view.state.lastLsn) {
      // Already past the new checkpoint: keep the state, follow the new log.
      const pending = await pendingRecords(fs, dir, { ...view.state, record: manifest.record }, view.walOffset, view.walSalt);
      if (pending && sameBytes(await readRoot(fs, dir, identity), root)) {
        const state = view.state;
        return {
          state,
          lsn: reaching(state, pending.ops),
          walOffset: pending.end,
          walSalt: pending.salt,
          root,
          commit: () => {
            state.epoch = manifest.epoch;
            state.checkpointLsn = manifest.checkpointLsn;
            state.record = manifest.record;
            return apply(state, pending.ops);
          },
        };
      }
    }
  }
  return loadView(fs, dir, identity, view);
}

/** Whether some vault's mapped graph holds too much of it in its private tail (MappedHnswIndex). */
function outgrown(state: DbState): boolean {
  for (const vault of state.vaults.values()) if (vault.index instanceof MappedHnswIndex && vault.index.outgrown) return true;
  return false;
}

/** Whether a vault the state keeps on the same graph has other codes in `manifest` (FORMAT.md "Graph codes"). */
function codesChanged(state: DbState, manifest: Manifest): boolean {
  return manifest.vaults.some((entry) => {
    const known = state.vaults.get(entry.number)?.segment;
    // The same graph (a base segment stays while deltas and graphs come): only its codes differ.
    return known !== undefined && known !== null && (known.graph?.path ?? null) === (entry.graph?.path ?? null) && (known.codes?.path ?? null) !== (entry.codes?.path ?? null);
  });
}
