import * as path from 'node:path';
import { FileName, SEGMENT_FILE_PATTERN, TMP_SUFFIX, codesPath, deltaPath, graphPath, segmentEpoch, segmentPath, sidecarPath } from '../../format/constants.js';
import { crc32c } from '../../format/crc.js';
import { sectionedByteLength } from '../../format/sectioned-file.js';
import { atomicReplace } from '../../fs/atomic-replace.js';
import { readdirIfExists, type FileSystem } from '../../fs/file-system.js';
import { encodeManifest, vaultFiles, type Manifest } from '../../segments/manifest.js';
import { summarizeGraph } from '../../segments/graph-sidecar.js';
import { CodeRanges, writeCodesFor, writeGraphCodes } from '../../segments/graph-codes.js';
import { segmentChunks, type GraphVectors } from '../../segments/segment-file.js';
import { nextTurn } from '../../util/loop-turns.js';
import { encodeGraphVectors, type EncodedGraphVectors, type PreviousGraph } from '../../segments/graph-vectors-encode.js';
import { deltaChunks } from '../../segments/delta-file.js';
import { deltaFits, graphLags, writeChunked } from './checkpoint-files.js';
import { GraphVectorBlock } from '../../segments/graph-vector-block.js';
import { moveVectors, type VectorMove } from './move-vectors.js';
import { rebaseRecords } from './rebase-records.js';
import type { StoredRecord } from '../../vault/stored-record.js';
import { quantizationOf, type Metric } from '../../format/identity.js';
import { encodeSnapshot } from '../../segments/snapshot-file.js';
import { isPersistent } from '../../vault/index/vector-index.js';
import { indexFields, type DeltaBase, type FileRef, type SegmentRef, type VaultState } from '../../vault/vault-state.js';
import type { DbState } from '../../vault/db-state.js';

/**
 * @internal Told where a checkpoint is (bench/checkpoint-scale.ts charges event-loop stalls to
 * each phase); unset, it costs a property read per phase.
 */
export const checkpointProbe: { phase?: (name: string) => void } = {};
const phase = (name: string): void => checkpointProbe.phase?.(name);

export interface CheckpointResult {
  epoch: number;
  /** Every operation up to this LSN is now in the checkpoint files. */
  lsn: number;
  /** Vaults whose files were rewritten (unchanged vaults keep theirs). */
  vaultsWritten: number;
  bytesWritten: number;
  /** Obsolete files removed. */
  filesRemoved: number;
  /** Traces dropped by their vault's retention before writing. */
  tracesExpired?: number;
}

/**
 * Writes a vault's saved graph and its sidecar (FORMAT.md "Graph sidecar"), and in a quantized
 * database its codes (FORMAT.md "Graph codes"), through tmp files and returns their references;
 * all are committed by the manifest that names them.
 */
async function writeGraph(fs: FileSystem, dir: string, vault: VaultState, rel: string, quantized: boolean): Promise<{ graph: FileRef; sidecar: FileRef; codes: FileRef | null } | null> {
  const index = vault.index;
  if (!isPersistent(index)) return null;
  phase('graph drain');
  await index.drain();
  const file = path.join(dir, rel);
  const tmp = file + TMP_SUFFIX;
  // hnswlib writes the file itself, by name: into a tmp path of ours, through the seam, fsynced.
  phase('graph save');
  await fs.writeNative(tmp, (p) => index.save(p), true);
  phase('graph summarize');
  // The codes' scales come from the same read of the graph as its page sums.
  const ranges = quantized ? new CodeRanges(vault.dimension) : null;
  const { sum, chunks } = await summarizeGraph(fs, tmp, rel, ranges?.observe);
  const codes = ranges ? await placeCodes(fs, dir, rel, (codesTmp) => writeGraphCodes(fs, tmp, codesTmp, ranges, sum)) : null;
  phase('sidecar write');
  const metaRel = sidecarPath(rel);
  const meta = path.join(dir, metaRel);
  await fs.writeFileSynced(meta + TMP_SUFFIX, chunks);
  await fs.rename(tmp, file);
  await fs.rename(meta + TMP_SUFFIX, meta);
  const sidecar: FileRef = { path: metaRel, bytes: sectionedByteLength(chunks), crc32c: chunks.reduce((crc, c) => crc32c(c, crc), 0) };
  return { graph: { path: rel, ...sum }, sidecar, codes };
}

/**
 * An unchanged vault's files when the database's quantization no longer matches them: codes
 * written for the graph it has (a database that turned quantization on), or its codes dropped
 * (turned off). Null when they match, or the vault has no graph with a sidecar to code.
 */
async function recode(fs: FileSystem, dir: string, ref: SegmentRef, quantized: boolean, dimension: number): Promise<SegmentRef | null> {
  if (!quantized) return ref.codes ? { ...ref, codes: null } : null;
  const graph = ref.graph;
  if (ref.codes || !graph || !ref.sidecar) return null;
  return { ...ref, codes: await placeCodes(fs, dir, graph.path, (codesTmp) => writeCodesFor(fs, path.join(dir, graph.path), codesTmp, dimension, graph)) };
}

/** The codes of the graph `graphRel` (FORMAT.md "Graph codes"), written by `write` to a tmp file, then renamed to their name. */
async function placeCodes(fs: FileSystem, dir: string, graphRel: string, write: (tmp: string) => Promise<{ bytes: number; crc32c: number }>): Promise<FileRef> {
  phase('graph codes');
  const rel = codesPath(graphRel);
  const file = path.join(dir, rel);
  const sum = await write(file + TMP_SUFFIX);
  await fs.rename(file + TMP_SUFFIX, file);
  return { path: rel, ...sum };
}

/** What a checkpoint that saved a vault's graph made of it: its GRAPH_VECTORS, and what to move after the commit. */
interface InGraph {
  encoded: EncodedGraphVectors;
  move: VectorMove;
  /** For a whole segment: the records in label order and the section's parts (segment-file.ts). */
  whole: GraphVectors | null;
  /** The rows of the records written after the LSN asked for (a delta segment's), ascending. */
  changed: number[];
}

/**
 * The GRAPH_VECTORS section for a vault whose graph was just saved (FORMAT.md "Segment files"):
 * the graph becomes its vectors' only home. Null (the segment keeps VECTORS) when the graph does
 * not give back every record's vector exactly. A vault whose vectors are mapped from its last
 * graph (a writer with the addon) has its rows carried over from that graph where they are
 * unchanged (`previous`; move-vectors.ts moves the block when every one of its live rows was).
 * `whole` false (a delta segment follows): the rows are walked as positions in the store, no
 * record made for a base row, and only the corrections of the rows written after `since` or
 * holding their own vectors are kept.
 */
async function graphVectors(fs: FileSystem, dir: string, vault: VaultState, graph: FileRef, metric: Metric, since: number, whole: boolean): Promise<InGraph | null> {
  // Version 1 segments, which builds before GRAPH_VECTORS read (FORMAT.md "Segment files").
  if (process.env.QUIVER_SEGMENT_VECTORS === '1') return null;
  const block = vault.stored instanceof GraphVectorBlock ? vault.stored : null;
  const before = block?.previous() ?? null;
  const store = vault.records;
  // The records in label order (segmentRows' order) as positions, gathered a slice at a time: no
  // record made for a base row (its RECORDS entry is made again as the segment is written, and
  // dropped: a list of them would hold an object per row of the vault through the checkpoint).
  const positions: number[] = [];
  const changed: number[] = [];
  const owned: number[] = [];
  let live = 0;
  for (const at of store.positions()) {
    const row = positions.length;
    if (store.positionRowIn(at, block) >= 0) live++;
    const record = store.positionRecord(at);
    if (record && record.lsn > since) changed.push(row);
    if (record?.ownsVector) owned.push(row);
    if (positions.push(at) % 2048 === 0) await nextTurn();
  }
  const n = positions.length;
  const previous: PreviousGraph | null = before ? { ...before, rowOf: (row) => store.positionRowIn(positions[row]!, block), kept: new Uint8Array(before.rows.count), carried: 0 } : null;
  const rows = { length: n, label: (row: number) => store.positionLabel(positions[row]!), vector: (row: number) => store.positionVector(positions[row]!) };
  let only: Uint8Array | null = null;
  if (!whole) {
    only = new Uint8Array(n);
    for (const row of changed) only[row] = 1;
    for (const row of owned) only[row] = 1;
  }
  const encoded = await encodeGraphVectors(fs, path.join(dir, graph.path), rows, vault.dimension, metric, previous, only);
  if (!encoded) return null;
  // Rows of records put since the load (the changed and owned ones are), never of a base row.
  const recordOf = (row: number): StoredRecord => store.positionRecord(positions[row]!)!;
  return { encoded, move: { recordOf, owned, encoded, previous, live }, whole: whole ? { records: null, payload: encoded.parts } : null, changed };
}

/** A changed vault's files at this checkpoint, the bytes they took, and what its next checkpoint needs (vault.deltaBase). */
interface VaultWrite {
  ref: SegmentRef;
  bytes: number;
  base: DeltaBase | null;
  move: VectorMove | null;
}

/**
 * Writes a changed vault's files (FORMAT.md "Delta segments", "Checkpoint protocol" step 1): a
 * delta holding its changes' vectors, the graph before kept, while the records no saved graph
 * holds stay within graphLag; else its graph (and sidecar, codes), then a delta of the records
 * since the graph before (rows of the new graph) where the deltas fit on the base, or a whole segment.
 */
async function writeVault(fs: FileSystem, dir: string, vault: VaultState, epoch: number, quantized: boolean, metric: Metric, unchanged: () => boolean): Promise<VaultWrite> {
  const erased = Uint32Array.from(vault.records.erasedLabels).sort();
  const ref = vault.segment;
  const base = vault.deltaBase;
  if (ref && base) {
    const records = vault.records.changedSince(vault.segmentLsn);
    if (graphLags(vault, quantized, records.length + erased.length) && deltaFits(vault, records.length, erased.length)) {
      phase('segment');
      const delta = await writeChunked(fs, dir, deltaPath(vault.number, epoch), deltaChunks(vault, { records, rows: null, erased, baseEpoch: segmentEpoch(ref.segment.path) }), unchanged);
      const next = { ...base, deltaRows: base.deltaRows + records.length + erased.length, sinceGraph: base.sinceGraph + records.length + erased.length };
      return { ref: { ...ref, epoch, deltas: [...(ref.deltas ?? []), delta] }, bytes: delta.bytes, base: next, move: null };
    }
  }
  // The graph before the last one, still mapped for records erased since (GraphVectorBlock
  // rebind): let go before a new graph is written, so no more than two are on disk at once.
  if (vault.stored instanceof GraphVectorBlock) vault.stored.dropPrevious();
  // The graph first: a segment whose vectors live in the graph is built from the graph's bytes.
  const saved = await writeGraph(fs, dir, vault, graphPath(vault.number, epoch), quantized);
  phase('graph vectors');
  const since = base?.graphLsn ?? vault.segmentLsn;
  const delta = Boolean(ref && base && deltaFits(vault, vault.records.changedSince(since).length, erased.length));
  const inGraph = saved ? await graphVectors(fs, dir, vault, saved.graph, metric, since, !delta) : null;
  phase('segment');
  const graphBytes = saved ? saved.graph.bytes + saved.sidecar.bytes + (saved.codes?.bytes ?? 0) : 0;
  const graphRefs = { graph: saved?.graph ?? null, sidecar: saved?.sidecar ?? null, codes: saved?.codes ?? null };
  const move = inGraph?.move ?? null;
  if (ref && base && inGraph && delta) {
    // What changed since the graph before, as rows of this one, on the same base.
    const content = { records: inGraph.changed.map((row) => inGraph.move.recordOf(row)), rows: await inGraph.encoded.section(inGraph.changed), erased, baseEpoch: segmentEpoch(ref.segment.path) };
    const delta = await writeChunked(fs, dir, deltaPath(vault.number, epoch), deltaChunks(vault, content), unchanged);
    const next = { ...base, deltaRows: base.deltaRows + content.records.length + erased.length, graphLsn: vault.lsn, sinceGraph: 0 };
    return { ref: { epoch, segment: ref.segment, deltas: [...(ref.deltas ?? []), delta], ...graphRefs }, bytes: delta.bytes + graphBytes, base: next, move };
  }
  // A delta was planned but the graph does not give every vector back: a whole segment with VECTORS.
  const segment = await writeChunked(fs, dir, segmentPath(vault.number, epoch), segmentChunks(vault, inGraph?.whole ?? null), unchanged);
  // A whole segment with GRAPH_VECTORS is a base for deltas; one with VECTORS is not.
  const next = inGraph ? { baseRows: vault.records.count, deltaRows: 0, graphLsn: vault.lsn, sinceGraph: 0, indexes: indexFields(vault.payloadIndexes.keys()) } : null;
  return { ref: { epoch, segment, ...graphRefs }, bytes: segment.bytes + graphBytes, base: next, move };
}

/**
 * Segmented checkpoint (FORMAT.md "Checkpoint protocol"):
 * 1. write a graph and its sidecar, then a segment, for each vault changed since its last checkpoint;
 * 2. fsync the segments directory;
 * 3. atomically replace quiver.manifest (the commit point);
 * 4. remove files the new manifest no longer names.
 * The caller then truncates the log. A crash before step 3 leaves the old manifest and the full
 * log; after it, the log's records are at or below the manifest's LSN and replay skips them.
 * `live`: `state` is an open writer's, which goes on being used: after the commit its vectors are
 * moved onto the graphs just written (move-vectors.ts). A state built to be written and dropped
 * (import, a re-embed's staging) keeps nothing mapped.
 */
export async function writeSegmentedCheckpoint(fs: FileSystem, dir: string, state: DbState, live = false): Promise<CheckpointResult> {
  const epoch = state.epoch + 1;
  const lsn = state.lastLsn;
  const segmentsDir = path.join(dir, FileName.segments);
  await fs.mkdir(segmentsDir);
  const written = new Map<number, SegmentRef>();
  // Vectors to move onto the graphs this checkpoint saves, once the manifest names them.
  const moves = new Map<number, VectorMove>();
  // Per vault written: what its next checkpoint needs to add a delta (null: a base none can go on).
  const bases = new Map<number, DeltaBase | null>();
  let bytesWritten = 0;
  const quantized = quantizationOf(state.identity) === 'int8';
  for (const vault of state.vaults.values()) {
    if (!vault.dirty) {
      const recoded = vault.segment ? await recode(fs, dir, vault.segment, quantized, vault.dimension) : null;
      if (recoded) {
        bytesWritten += recoded.codes?.bytes ?? 0;
        written.set(vault.number, recoded);
      }
      continue;
    }
    const out = await writeVault(fs, dir, vault, epoch, quantized, state.identity.metric, () => state.lastLsn === lsn);
    if (live && out.move) moves.set(vault.number, out.move);
    bytesWritten += out.bytes;
    written.set(vault.number, out.ref);
    bases.set(vault.number, out.base);
  }
  phase('manifest');
  await fs.syncDir(segmentsDir);
  const manifest: Manifest = {
    epoch,
    checkpointLsn: lsn,
    nextVaultNumber: state.nextVaultNumber,
    record: state.record,
    vaults: [...state.vaults.values()]
      .sort((a, b) => a.number - b.number)
      .map((vault) => {
        const ref = written.get(vault.number) ?? vault.segment!;
        return { number: vault.number, name: vault.name, epoch: ref.epoch, segment: ref.segment, ...(ref.deltas?.length ? { deltas: ref.deltas } : {}), graph: ref.graph, ...(ref.sidecar ? { sidecar: ref.sidecar } : {}), ...(ref.codes ? { codes: ref.codes } : {}) };
      }),
  };
  const manifestChunks = encodeManifest(manifest);
  await atomicReplace(fs, path.join(dir, FileName.manifest), manifestChunks);
  bytesWritten += sectionedByteLength(manifestChunks);
  // The manifest is committed: memory now describes the new epoch.
  for (const [number, ref] of written) {
    const vault = state.vaults.get(number)!;
    vault.segment = ref;
    vault.segmentLsn = vault.lsn;
    const base = bases.get(number);
    if (base === undefined) continue; // recoded only
    vault.deltaBase = base;
    vault.records.clearErased();
    vault.records.trackErased = base !== null;
  }
  state.epoch = epoch;
  state.checkpointLsn = lsn;
  // Memory only, after the commit: a failure leaves vectors where they were read from (each
  // record moved so far reads the same floats from its row), never fails a durable checkpoint.
  phase('move vectors');
  const corrected = state.identity.metric === 'cosine';
  for (const number of [...moves.keys()]) {
    const vault = state.vaults.get(number)!;
    const ref = written.get(number)!;
    if (ref.deltas?.length) {
      await moveVectors(fs, dir, vault, ref, moves.get(number)!, corrected).catch(() => undefined);
      continue;
    }
    // A new base: its records become columns over it, their vectors rows of its graph
    // (rebase-records.ts). The section's rows encoded for it are let go first (at 1M x 384, 100
    // MB), as the segment is read back: should that fail, the vectors stay where they are.
    moves.delete(number);
    phase('rebase records');
    await rebaseRecords(fs, dir, vault, ref, corrected).catch(() => false);
  }
  // Cleanup after the commit point: a failure here (EMFILE listing segments/, say) must not fail
  // a checkpoint that is durable; the files are strays the next checkpoint or open removes.
  phase('remove old files');
  const filesRemoved = await removeUnreferenced(fs, dir, referencedFiles(state)).catch(() => 0);
  return { epoch, lsn, vaultsWritten: written.size, bytesWritten, filesRemoved };
}

/**
 * The segment and graph files the state's vaults were loaded from or last checkpointed to: what
 * quiver.manifest names whenever the state matches it (right after loading it, or after a commit).
 */
export function referencedFiles(state: DbState): Set<string> {
  const keep = new Set<string>();
  for (const v of state.vaults.values()) {
    if (v.segment) for (const ref of vaultFiles(v.segment)) keep.add(ref.path);
  }
  return keep;
}

/** Removes segment files not in `keep` and leftover tmp files. Best effort, but a segments/ that cannot be listed is StorageError. */
export async function removeUnreferenced(fs: FileSystem, dir: string, keep: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  const names = await readdirIfExists(fs, path.join(dir, FileName.segments));
  for (const name of names) {
    const rel = `${FileName.segments}/${name}`;
    const ours = SEGMENT_FILE_PATTERN.test(rel) || (name.endsWith(TMP_SUFFIX) && SEGMENT_FILE_PATTERN.test(rel.slice(0, -TMP_SUFFIX.length)));
    if (!ours || keep.has(rel)) continue;
    await fs.unlink(path.join(dir, rel)).then(() => removed++, () => undefined);
  }
  return removed;
}

/** Snapshot checkpoint: the whole state into quiver.snapshot through tmp + rename. */
export async function writeSnapshotCheckpoint(fs: FileSystem, dir: string, state: DbState): Promise<CheckpointResult> {
  const epoch = state.epoch + 1;
  const lsn = state.lastLsn;
  const vaults = [];
  for (const vault of [...state.vaults.values()].sort((a, b) => a.number - b.number)) {
    let graph: Uint8Array = new Uint8Array(0);
    const index = vault.index;
    if (isPersistent(index)) {
      await index.drain();
      const tmp = path.join(dir, `${FileName.snapshot}.graph${TMP_SUFFIX}`);
      try {
        // Read back at once and never renamed: no fsync needed.
        await fs.writeNative(tmp, (p) => index.save(p), false);
        graph = await fs.readFile(tmp);
      } finally {
        await fs.unlink(tmp).catch(() => undefined);
      }
    }
    vaults.push({ vault, graph });
  }
  const chunks = encodeSnapshot({ epoch, checkpointLsn: lsn, nextVaultNumber: state.nextVaultNumber, vaults: vaults.length, record: state.record }, vaults);
  await atomicReplace(fs, path.join(dir, FileName.snapshot), chunks);
  state.epoch = epoch;
  state.checkpointLsn = lsn;
  for (const vault of state.vaults.values()) {
    vault.segmentLsn = vault.lsn;
    vault.records.clearErased();
  }
  return { epoch, lsn, vaultsWritten: vaults.length, bytesWritten: sectionedByteLength(chunks), filesRemoved: 0 };
}
