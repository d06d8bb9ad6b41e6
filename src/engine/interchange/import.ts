import { ConflictError, CorruptionError, QuiverError, ioError } from '../../errors.js';
import type { EmbedderManifest } from '../../embedder/embedder.js';
import type { Op } from '../../format/records.js';
import { applyOp } from '../../vault/apply.js';
import { fromJson, readExport, type ExportSummary, type ImportedVault } from './export.js';
import { checkBranchName, checkLayer, checkRetention, pendingFor, tracePutOp } from '../ops/history-ops.js';
import { importedDocument, importedLayer, missing } from './import-helpers.js';
import type { DbState } from '../../vault/db-state.js';
import { checkQuota, checkQuotas } from '../ops/validate.js';
import { insertOp } from '../ops/record-ops.js';
import { vectorsLoaded } from '../../vault/db-state.js';
import { writeSegmentedCheckpoint, writeSnapshotCheckpoint } from '../maintenance/checkpoint.js';
import { checkpointNow, truncateLog } from '../maintenance/run-checkpoint.js';
import type { DatabaseCore } from '../open/parts.js';

type Progress = (done: number, total: number) => void;

const SLICE = 500;

/**
 * @internal db.import()'s body, in an exclusive slot: empties the log (the import's checkpoint then covers
 * everything it held), stages the import beside the live state and commits it with one checkpoint.
 */
export async function importInto(core: DatabaseCore, source: string, onProgress?: Progress): Promise<ExportSummary> {
  const { dir, fs } = core.parts;
  await vectorsLoaded(core.parts.state);
  if (dir) await checkpointNow(core);
  const { staged, summary } = await stageImport(core.parts.state, source, core.parts.embedder?.manifest ?? null, core.parts.options.maxPayloadBytes, onProgress);
  if (dir) {
    const epochBefore = staged.epoch;
    try {
      await (staged.identity.storage === 'snapshot' ? writeSnapshotCheckpoint(fs, dir, staged) : writeSegmentedCheckpoint(fs, dir, staged));
    } catch (err) {
      // Before the root's rename nothing of the import is visible; after it, memory lags disk.
      if (staged.epoch !== epochBefore) throw core.fail(err);
      throw err instanceof QuiverError ? err : ioError('importing into', dir, err);
    }
    core.parts.state = staged;
    await truncateLog(core.parts).catch((err: unknown) => {
      throw core.fail(err);
    });
  } else {
    core.parts.state = staged;
  }
  return summary;
}

/**
 * Builds, in memory and beside the live state, the state an import leads to (FORMAT.md "Import"):
 * a copy of `state` that shares its vaults (an import only adds vaults, it never changes one)
 * plus every vault of the export, each of its operations validated as a write would be and
 * applied at one LSN, `state.lastLsn + 1`. Nothing is logged and nothing is written: the caller
 * commits the result with one checkpoint, whose root rename is the switch, or drops it.
 */
export async function stageImport(
  state: DbState,
  source: string,
  embedder: EmbedderManifest | null,
  maxPayloadBytes: number,
  onProgress?: Progress,
): Promise<{ staged: DbState; summary: ExportSummary }> {
  const vaults = await readExport(source, state.identity, embedder);
  for (const v of vaults) if (state.names.has(v.name)) throw new ConflictError('ALREADY_EXISTS', `vault "${v.name}" already exists in the target; nothing was imported`);
  const lsn = state.lastLsn + 1;
  const staged: DbState = { ...state, vaults: new Map(state.vaults), names: new Map(state.names), unread: [], lastLsn: lsn };
  const total = vaults.reduce((n, v) => n + v.records.length + v.layers.length + v.traces.length, 0);
  const summary: ExportSummary = { path: source, vaults: vaults.length, records: 0, layers: 0, branches: 0, traces: 0, bytes: 0 };
  const progress = { done: 0, total, onProgress };
  for (const v of vaults) {
    await stageVault(staged, v, lsn, maxPayloadBytes, progress);
    summary.records += v.records.length;
    summary.layers += v.layers.length;
    summary.branches += v.branches.length;
    summary.traces += v.traces.length;
  }
  return { staged, summary };
}

/** Applies validated ops to the staged state; an op the state refuses means the export contradicts itself. */
function apply(staged: DbState, ops: Op[], lsn: number, file: string): void {
  checkQuotas(staged, ops);
  for (const op of ops) {
    if (!applyOp(staged, op, lsn)) throw new CorruptionError(file, `an entry of the export cannot be applied (${op.type})`);
  }
}

/** Lets the event loop turn between slices of a large import. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function stageVault(staged: DbState, v: ImportedVault, lsn: number, max: number, progress: { done: number; total: number; onProgress?: Progress | undefined }): Promise<void> {
  const dir = `vaults/${v.name}`;
  const number = staged.nextVaultNumber;
  apply(staged, [{ type: 'vaultCreate', vault: number, name: v.name, quota: checkQuota(v.quota) }], lsn, `${dir}/vault.json`);
  const vault = staged.vaults.get(number)!;
  if (Object.keys(v.retention).length > 0) apply(staged, [{ type: 'retentionSet', vault: number, retention: checkRetention(v.retention) }], lsn, `${dir}/vault.json`);
  if (v.indexes.length > 0) apply(staged, v.indexes.map((field) => ({ type: 'indexCreate', vault: number, field })), lsn, `${dir}/vault.json`);
  const tick = (n: number) => progress.onProgress?.((progress.done += n), progress.total);
  for (let i = 0; i < v.records.length; i += SLICE) {
    const chunk = v.records.slice(i, i + SLICE);
    apply(staged, chunk.map((r, j) => insertOp(staged, number, r.id, r.vector, r.payload, max, `records[${i + j}].`, importedDocument(r.document, max))), lsn, `${dir}/records.jsonl`);
    tick(chunk.length);
    await turn();
  }
  for (let i = 0; i < v.layers.length; i += SLICE) {
    const chunk = v.layers.slice(i, i + SLICE);
    // The validator writes use: nothing is staged that replay would refuse (history-ops.ts checkLayer).
    const pending = pendingFor(vault);
    apply(staged, chunk.map((l, j) => ({ type: 'layerCommit', vault: number, layer: checkLayer(vault, pending, importedLayer(l, max), `layers[${i + j}]`), move: null })), lsn, `${dir}/layers.jsonl`);
    tick(chunk.length);
    await turn();
  }
  apply(staged, v.branches.map((b) => ({ type: 'branchSet', vault: number, name: checkBranchName(b.name, 'name'), head: b.head === null ? null : vault.layers.get(b.head) ? b.head : missing(b.head) })), lsn, `${dir}/branches.jsonl`);
  for (let i = 0; i < v.traces.length; i += SLICE) {
    const chunk = v.traces.slice(i, i + SLICE);
    apply(staged, chunk.map((t) => tracePutOp(vault, t.key, fromJson(t.trace), { at: t.at, links: t.links }, max)), lsn, `${dir}/traces.jsonl`);
    tick(chunk.length);
    await turn();
  }
  // The graph is built now, not in the background: the checkpoint that commits the import saves it.
  await vault.index.drain();
}
