import * as path from 'node:path';
import { isMissing, nodeFileSystem, type FileSystem } from '../../fs/file-system.js';
import { ConfigError, CorruptionError, EmbedderDriftError, NotFoundError, ioError } from '../../errors.js';
import { claimDestination, commitStaging, createStaging, releaseClaim, removeStaleStaging } from '../maintenance/destination.js';
import { decode } from '../../format/codec.js';
import { vectorFromBytes } from '../../format/vector.js';
import type { EmbedderManifest } from '../../embedder/embedder.js';
import { driftBetween } from '../../embedder/resolve.js';
import type { Identity } from '../../format/identity.js';
import type { Layer } from '../../vault/layers.js';
import type { StoredRecord } from '../../vault/stored-record.js';
import type { Retention, StoredTrace } from '../../vault/traces.js';
import type { Quota } from '../../vault/vault-state.js';
import { vectorsLoaded, type DbState } from '../../vault/db-state.js';
import { checkVaultName } from '../../vault/names.js';
import { byCodeUnits } from '../../util/code-units.js';

/**
 * Export format (README "Export and import"): a directory of UTF-8 JSON and JSON Lines files in a
 * deterministic order, so export -> import -> export gives byte-identical files.
 *   quiver-export.json                 { format, version, identity, embedder, vaults: [names] }
 *   vaults/<name>/vault.json           { name, quota, retention, indexes }
 *   vaults/<name>/records.jsonl        { id, vector, payload, document } by id; vector = base64 float32 LE
 *   vaults/<name>/layers.jsonl         { id, parent, branch, meta, at, resources: [[iri, value]] } by layer number
 *   vaults/<name>/branches.jsonl       { name, head } by name
 *   vaults/<name>/traces.jsonl         { key, at, links, trace } by (at, key)
 * JSON values carry binary leaves (Uint8Array) as { "$bytes": base64 }.
 */
export const EXPORT_FORMAT = 'quiver-export';
export const EXPORT_VERSION = 1;

export interface ExportSummary {
  path: string;
  vaults: number;
  records: number;
  layers: number;
  branches: number;
  traces: number;
  bytes: number;
}

type Progress = (done: number, total: number) => void;

/** msgpack-decoded values to JSON-safe values: Uint8Array -> { $bytes }. */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value;
}

export function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === '$bytes' && typeof entries[0]![1] === 'string') return new Uint8Array(Buffer.from(entries[0]![1], 'base64'));
    return Object.fromEntries(entries.map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

export function exportIdentity(identity: Identity): Omit<Identity, 'createdAt'> {
  const { createdAt: _createdAt, ...rest } = identity;
  return rest;
}

interface VaultCut {
  name: string;
  quota: Quota;
  retention: Retention;
  indexes: string[];
  records: StoredRecord[];
  layers: Layer[];
  branches: [string, string | null][];
  traces: StoredTrace[];
}

/** A consistent cut of the state, taken synchronously: records, layers and traces are immutable objects. */
function cut(state: DbState): VaultCut[] {
  return [...state.vaults.values()]
    .sort((a, b) => byCodeUnits(a.name, b.name))
    .map((v) => ({
      name: v.name,
      quota: { ...v.quota },
      retention: { ...v.traces.retention },
      indexes: [...v.payloadIndexes.keys()].sort(byCodeUnits),
      records: [...v.records.values()].sort((a, b) => byCodeUnits(a.id, b.id)),
      layers: [...v.layers.layers()].sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1))),
      branches: [...v.layers.branches].sort(([a], [b]) => byCodeUnits(a, b)),
      traces: [...v.traces.ordered()],
    }));
}

function recordLine(r: StoredRecord): string {
  const vector = Buffer.from(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength).toString('base64');
  return JSON.stringify({ id: r.id, vector, payload: r.payloadBytes ? toJson(decode(r.payloadBytes)) : null, document: r.doc ? toJson(r.doc) : null });
}

function layerLine(l: Layer): string {
  const resources = [...l.resources].sort(([a], [b]) => byCodeUnits(a, b)).map(([iri, v]) => [iri, toJson(v)]);
  return JSON.stringify({ id: l.id, parent: l.parent, branch: l.branch, meta: toJson(l.meta), at: l.at, resources });
}

function traceLine(t: StoredTrace): string {
  return JSON.stringify({ key: t.key, at: t.at, links: t.links, trace: toJson(decode(t.bytes)) });
}

/**
 * Writes the export into `dest`, which must be absent or an empty directory outside `dbDir`
 * (ConflictError otherwise, nothing touched): built in a staging sibling, renamed into place.
 */
export async function exportState(state: DbState, embedder: EmbedderManifest | null, dest: string, dbDir: string | null, onProgress?: Progress, fs: FileSystem = nodeFileSystem): Promise<ExportSummary> {
  const claim = await claimDestination(dest, dbDir === null ? [] : [dbDir], fs);
  const target = claim.path;
  const summary: ExportSummary = { path: target, vaults: 0, records: 0, layers: 0, branches: 0, traces: 0, bytes: 0 };
  // Every file is fsynced and every directory made is fsynced before the staging directory is
  // renamed into place, and the destination's parent after: an export that resolved survives a
  // power cut whole (FORMAT.md "Crash analysis").
  let staging: string | null = null;
  const dirs = new Set<string>();
  const write = async (rel: string, lines: string[]): Promise<void> => {
    const text = lines.map((l) => l + '\n').join('');
    const file = path.join(staging!, rel);
    try {
      for (let d = path.dirname(file); d !== staging && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
      await fs.mkdir(path.dirname(file));
      await fs.writeFileSynced(file, [Buffer.from(text)]);
    } catch (cause) {
      throw ioError('writing', file, cause);
    }
    summary.bytes += Buffer.byteLength(text);
  };
  try {
    await removeStaleStaging(target, fs);
    staging = await createStaging(target, 'export', fs);
    await vectorsLoaded(state);
    const vaults = cut(state);
    summary.vaults = vaults.length;
    const total = vaults.reduce((n, v) => n + v.records.length + v.layers.length + v.traces.length, 0);
    let done = 0;
    await write('quiver-export.json', [JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, identity: exportIdentity(state.identity), embedder, vaults: vaults.map((v) => v.name) }, null, 2)]);
    for (const v of vaults) {
      const dir = `vaults/${v.name}`;
      await write(`${dir}/vault.json`, [JSON.stringify({ name: v.name, quota: v.quota, retention: v.retention, indexes: v.indexes })]);
      const lines: string[] = [];
      for (const r of v.records) {
        lines.push(recordLine(r));
        if (++done % 1000 === 0) onProgress?.(done, total);
      }
      await write(`${dir}/records.jsonl`, lines);
      await write(`${dir}/layers.jsonl`, v.layers.map(layerLine));
      await write(`${dir}/branches.jsonl`, v.branches.map(([name, head]) => JSON.stringify({ name, head })));
      await write(`${dir}/traces.jsonl`, v.traces.map(traceLine));
      done += v.layers.length + v.traces.length;
      onProgress?.(done, total);
      summary.records += v.records.length;
      summary.layers += v.layers.length;
      summary.branches += v.branches.length;
      summary.traces += v.traces.length;
    }
    // Deepest first: each directory's entries, then the entry of the directory in its parent
    // (the staging directory's own entries are fsynced by commitStaging, after its marker goes).
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      await fs.syncDir(d).catch((cause: unknown) => {
        throw ioError('syncing', d, cause);
      });
    }
    await commitStaging(staging, target, fs);
    await fs.syncDir(path.dirname(target)).catch((cause: unknown) => {
      throw ioError('syncing', path.dirname(target), cause);
    });
  } catch (err) {
    if (staging !== null) await fs.removeTree(staging).catch(() => undefined);
    await releaseClaim(claim, fs);
    throw err;
  }
  return summary;
}

// ---- reading an export ------------------------------------------------------------------------

export interface ImportedVault {
  name: string;
  quota: Quota;
  retention: Retention;
  indexes: string[];
  records: { id: string; vector: Float32Array; payload: unknown; document: unknown }[];
  layers: { id: string; parent: string | null; branch: string | null; meta: unknown; at: number; resources: [string, unknown][] }[];
  branches: { name: string; head: string | null }[];
  traces: { key: string; at: number; links: { records: string[]; layers: string[] }; trace: unknown }[];
}

/** A file of the export, as text: missing or unreadable is CorruptionError / StorageError, never a raw error. */
async function exportFile(dir: string, rel: string): Promise<string> {
  try {
    return (await nodeFileSystem.readFile(path.join(dir, rel))).toString('utf8');
  } catch (cause) {
    if (isMissing(cause)) throw new CorruptionError(rel, 'is missing from the export', { cause });
    throw ioError('reading', path.join(dir, rel), cause);
  }
}

async function lines(dir: string, rel: string): Promise<unknown[]> {
  const file = rel;
  const text = await exportFile(dir, rel);
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (cause) {
        throw new CorruptionError(file, `line ${i + 1} is not JSON`, { cause });
      }
    });
}

/** quiver-export.json: what the export is of (identity without createdAt, embedder, vault names). */
export interface ExportHead {
  format: string;
  version: number;
  identity: Record<string, unknown>;
  embedder: EmbedderManifest | null;
  vaults: string[];
}

/** Reads and checks the head of the export at `source` (NotFoundError when there is none). */
export async function readExportHead(source: string): Promise<ExportHead> {
  const dir = path.resolve(source);
  let head: Partial<ExportHead>;
  try {
    head = JSON.parse((await nodeFileSystem.readFile(path.join(dir, 'quiver-export.json'))).toString('utf8'));
  } catch (cause) {
    throw new NotFoundError('export', `no quiver export at ${dir} (quiver-export.json missing or unreadable)`);
  }
  if (typeof head !== 'object' || head === null || head.format !== EXPORT_FORMAT || head.version !== EXPORT_VERSION) {
    throw new ConfigError('CONFIG_INVALID', 'export', `unsupported export ${head?.format} v${head?.version}`);
  }
  if (typeof head.identity !== 'object' || head.identity === null || !Array.isArray(head.vaults) || !head.vaults.every((v) => typeof v === 'string')) {
    throw new CorruptionError('quiver-export.json', 'has no identity or no list of vaults');
  }
  return { format: head.format, version: head.version, identity: head.identity, embedder: head.embedder ?? null, vaults: head.vaults };
}

/** Reads an export and checks it against the target's identity and embedder (nothing is written). */
export async function readExport(source: string, identity: Identity, embedder: EmbedderManifest | null): Promise<ImportedVault[]> {
  const dir = path.resolve(source);
  const head = await readExportHead(dir);
  const ours = exportIdentity(identity) as unknown as Record<string, unknown>;
  for (const field of ['formatVersion', 'dimension', 'metric', 'index', 'storage']) {
    if (JSON.stringify(head.identity[field]) !== JSON.stringify(ours[field])) {
      throw new ConfigError('CONFIG_MISMATCH', field, `${field}: the export has ${JSON.stringify(head.identity[field])}, the database ${JSON.stringify(ours[field])}`);
    }
  }
  const theirs = head.embedder;
  if (theirs || embedder) {
    const none = { provider: 'none', model: '', revision: '', dimension: 0, fingerprint: '', rehydratable: false, artifact: null };
    const drift = driftBetween(theirs ?? none, embedder ?? none);
    if (drift.length > 0) throw new EmbedderDriftError(drift);
  }
  const out: ImportedVault[] = [];
  for (const name of head.vaults) {
    checkVaultName(name, 'vaults');
    const vdir = `vaults/${name}`;
    const [meta] = (await lines(dir, `${vdir}/vault.json`)) as [{ quota: Quota; retention: Retention; indexes?: unknown } | undefined];
    if (typeof meta !== 'object' || meta === null) throw new CorruptionError(`${vdir}/vault.json`, 'is not a JSON object');
    const indexes = Array.isArray(meta.indexes) && meta.indexes.every((f) => typeof f === 'string' && f.length > 0) ? (meta.indexes as string[]) : [];
    const records = (await lines(dir, `${vdir}/records.jsonl`)).map((r) => {
      const rec = r as { id: string; vector: string; payload: unknown; document: unknown };
      if (typeof rec !== 'object' || rec === null || typeof rec.vector !== 'string') throw new CorruptionError(`${vdir}/records.jsonl`, 'a line is not a record');
      const vector = vectorFromBytes(Buffer.from(rec.vector, 'base64'), identity.dimension);
      if (!vector) throw new CorruptionError(`vaults/${name}/records.jsonl`, `record ${rec.id}: the vector is not ${identity.dimension} float32 values`);
      return { id: rec.id, vector, payload: fromJson(rec.payload), document: rec.document };
    });
    out.push({
      name,
      quota: meta.quota ?? {},
      retention: meta.retention ?? {},
      indexes,
      records,
      layers: (await lines(dir, `${vdir}/layers.jsonl`)) as ImportedVault['layers'],
      branches: (await lines(dir, `${vdir}/branches.jsonl`)) as ImportedVault['branches'],
      traces: (await lines(dir, `${vdir}/traces.jsonl`)) as ImportedVault['traces'],
    });
  }
  return out;
}
