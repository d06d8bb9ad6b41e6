import * as path from 'node:path';
import { CorruptionError, SchemaError } from '../../errors.js';
import { FORMAT_VERSION, FileName } from '../../format/constants.js';
import { decodeIdentity, type Identity } from '../../format/identity.js';
import { decodeSectionedHeader } from '../../format/sectioned-file.js';
import { isMissing, nodeFileSystem, type FileSystem } from '../../fs/file-system.js';
import { decodeManifest, vaultFiles } from '../../segments/manifest.js';
import { checkSidecar, decodeGraphSidecar } from '../../segments/graph-sidecar.js';
import { checkCodes } from '../../segments/graph-codes.js';
import { decodeSegment } from '../../segments/segment-file.js';
import { GraphVectorBlock } from '../../segments/graph-vector-block.js';
import { checkGraphRows, graphShape } from '../../segments/graph-vectors.js';
import { decodeDelta, type DeltaImage } from '../../segments/delta-file.js';
import { checkDeltaChain, liveRows } from './check-deltas.js';
import type { VaultImage } from '../../segments/vault-image.js';
import { decodeSnapshot } from '../../segments/snapshot-file.js';
import { decodeRecord } from '../../format/records.js';
import { readRef } from '../open/file-references.js';
import { scanWal, type DroppedSpan } from '../../wal/wal-reader.js';
import { readEmbedderManifest, rehydrate } from '../../embedder/resolve.js';
import type { RootRecord } from '../../format/root-record.js';
import { verifyEmbedder, verifyLog } from '../open/file-references.js';

export interface CheckProblem {
  file: string;
  offset?: number;
  message: string;
}

export interface CheckReport {
  ok: boolean;
  /** Files whose every checksum was verified. */
  filesChecked: string[];
  problems: CheckProblem[];
  /** A torn log tail is not corruption (the next writer drops it) but it is reported. */
  tornTail: DroppedSpan | null;
  walRecords: number;
  vaults: number;
  records: number;
}

/**
 * Verifies a database directory without opening it: every checksum (IDENTITY, manifest,
 * segments, graphs, snapshot, each log frame, the embedder's manifest and artifact) and every
 * reference (manifest paths, the vaults log records name, the log and embedder the root records).
 * Each check is the one open makes, called from the same code. Reads only; takes no lock.
 */
export async function checkDatabase(dir: string, fs: FileSystem = nodeFileSystem): Promise<CheckReport> {
  const root = path.resolve(dir);
  const report: CheckReport = { ok: true, filesChecked: [], problems: [], tornTail: null, walRecords: 0, vaults: 0, records: 0 };
  const problem = (err: unknown, file: string): void => {
    report.problems.push(
      err instanceof CorruptionError
        ? { file: err.file, ...(err.offset !== undefined ? { offset: err.offset } : {}), message: err.message }
        : { file, message: err instanceof Error ? err.message : String(err) },
    );
  };
  const read = async (rel: string): Promise<Buffer | null> => {
    try {
      return await fs.readFile(path.join(root, rel));
    } catch (err) {
      if (isMissing(err)) return null;
      problem(err, rel);
      return null;
    }
  };

  let identity: Identity | null = null;
  const idBytes = await read(FileName.identity);
  if (!idBytes) {
    report.problems.push({ file: FileName.identity, message: 'missing: not a quiverdb database' });
  } else {
    try {
      const { version } = decodeSectionedHeader(idBytes, 'identity', FileName.identity);
      if (version !== FORMAT_VERSION) throw new SchemaError(version > FORMAT_VERSION ? 'SCHEMA_TOO_NEW' : 'SCHEMA_MIGRATION_MISSING', `format version ${version}; this build checks ${FORMAT_VERSION}`, version, FORMAT_VERSION);
      identity = decodeIdentity(idBytes);
      report.filesChecked.push(FileName.identity);
    } catch (err) {
      problem(err, FileName.identity);
    }
  }
  if (!identity) return finish(report);

  const vaults = new Set<number>();
  let checkpointLsn = 0;
  let record: RootRecord | null = null;
  if (identity.storage === 'segmented') {
    const bytes = await read(FileName.manifest);
    if (bytes) {
      try {
        const manifest = decodeManifest(bytes);
        checkpointLsn = manifest.checkpointLsn;
        record = manifest.record;
        report.filesChecked.push(FileName.manifest);
        for (const entry of manifest.vaults) {
          vaults.add(entry.number);
          let graphBytes: Buffer | undefined;
          let image: VaultImage | undefined;
          const deltas: DeltaImage[] = [];
          for (const ref of vaultFiles(entry)) {
            let file: Buffer;
            try {
              file = await readRef(fs, root, ref);
            } catch (err) {
              problem(err, ref.path);
              continue;
            }
            if (ref === entry.graph) graphBytes = file;
            if (ref === entry.sidecar && entry.graph) {
              try {
                checkSidecar(decodeGraphSidecar(file, ref.path), entry.graph, ref.path, graphBytes);
              } catch (err) {
                problem(err, ref.path);
                continue;
              }
            }
            if (ref === entry.codes && entry.graph) {
              try {
                checkCodes(file, entry.graph, ref.path, identity.dimension, graphBytes);
              } catch (err) {
                problem(err, ref.path);
                continue;
              }
            }
            if (ref === entry.segment) {
              try {
                image = decodeSegment(file, identity.dimension, ref.path);
                if (image.number !== entry.number) throw new CorruptionError(ref.path, 'holds a different vault than the manifest says');
              } catch (err) {
                problem(err, ref.path);
                continue;
              }
            }
            if (entry.deltas?.includes(ref)) {
              try {
                deltas.push(decodeDelta(file, identity.dimension, ref.path));
              } catch (err) {
                problem(err, ref.path);
                continue;
              }
            }
            report.filesChecked.push(ref.path);
          }
          // A segment whose vectors live in its graph: every row's vector must come back from it.
          // With delta segments, only the rows still records once all are applied (FORMAT.md "Delta segments").
          if (!image || deltas.length !== (entry.deltas?.length ?? 0)) continue;
          const records = image.records;
          const labelOf = Array.isArray(records) ? (row: number) => records[row]!.label : (row: number) => records.label(row);
          if (deltas.length > 0) {
            try {
              // The base's id by label, from its records or its columns (a version 2 segment's).
              const ids = new Map<number, string>();
              if (Array.isArray(records)) for (const r of records) ids.set(r.label, r.id);
              else for (let row = 0; row < records.length; row++) ids.set(records.label(row), records.record(row).id);
              checkDeltaChain(entry, image.lsn, ids, deltas, identity.dimension);
            } catch (err) {
              problem(err, entry.deltas![0]!.path);
              continue;
            }
          }
          const live = liveRows(labelOf, records.length, deltas);
          report.records += live.records;
          if (image.vectors instanceof GraphVectorBlock) {
            const rows = image.vectors.rows;
            let file = entry.segment.path;
            try {
              if (!entry.graph || !entry.sidecar) throw new CorruptionError(file, 'keeps its vectors in its graph, but the manifest names no graph and sidecar beside it');
              if (graphBytes) {
                const seen = new Uint8Array(graphShape(graphBytes).count);
                checkGraphRows(rows, graphBytes, labelOf, file, { live: live.base, seen });
                for (const [k, delta] of deltas.entries()) {
                  file = entry.deltas![k]!.path;
                  // A delta holding its vectors (one after the graph, FORMAT.md "Delta segments") names no element.
                  if (delta.rows) checkGraphRows(delta.rows, graphBytes, (row) => delta.labels[row]!, file, { live: live.delta[k]!, seen });
                }
              }
            } catch (err) {
              problem(err, file);
            }
          } else if (entry.deltas) problem(new CorruptionError(entry.deltas[0]!.path, `lies on ${entry.segment.path}, whose vectors are not in its graph`), entry.deltas[0]!.path);
        }
      } catch (err) {
        problem(err, FileName.manifest);
      }
    }
  } else {
    const bytes = await read(FileName.snapshot);
    if (bytes) {
      try {
        const snap = decodeSnapshot(bytes, identity.dimension);
        checkpointLsn = snap.meta.checkpointLsn;
        record = snap.meta.record;
        for (const v of snap.vaults) {
          vaults.add(v.image.number);
          report.records += v.image.records.length;
        }
        report.filesChecked.push(FileName.snapshot);
      } catch (err) {
        problem(err, FileName.snapshot);
      }
    }
  }

  // The embedder: its manifest decodes, is the one the root records, and (built-in embedder)
  // its artifact rebuilds an embedder with the recorded fingerprint, as open's rehydration does.
  try {
    const stored = await readEmbedderManifest(fs, root);
    verifyEmbedder(record, stored);
    if (stored) {
      report.filesChecked.push(FileName.embedderManifest);
      if (stored.provider === 'local') {
        await rehydrate(fs, root, stored);
        if (stored.artifact) report.filesChecked.push(stored.artifact);
      }
    }
  } catch (err) {
    problem(err, FileName.embedderManifest);
  }

  const wal = await read(FileName.wal);
  let logOk = true;
  try {
    verifyLog(record, wal ? scanWal(wal).header : null, wal !== null);
  } catch (err) {
    problem(err, FileName.wal);
    logOk = false;
  }
  if (wal && logOk) {
    try {
      const scan = scanWal(wal);
      for (const frame of scan.frames) {
        report.walRecords++;
        const ops = decodeRecord(frame.type, frame.body, identity.dimension, frame.offset);
        if (frame.lsn <= checkpointLsn) continue;
        for (const op of ops) {
          if (op.type === 'vaultCreate') vaults.add(op.vault);
          else if (!vaults.has(op.vault)) throw new CorruptionError(FileName.wal, `record at offset ${frame.offset} names vault ${op.vault}, which does not exist`, { offset: frame.offset });
          if (op.type === 'vaultDrop') vaults.delete(op.vault);
        }
      }
      if (scan.dropped && scan.validFrameAfter !== null) {
        report.problems.push({ file: FileName.wal, offset: scan.dropped.offset, message: `damaged record (${scan.dropped.reason}) followed by a valid record at offset ${scan.validFrameAfter}` });
      } else if (scan.dropped) {
        report.tornTail = scan.dropped;
      }
      report.filesChecked.push(FileName.wal);
    } catch (err) {
      problem(err, FileName.wal);
    }
  }
  report.vaults = vaults.size;
  return finish(report);
}

function finish(report: CheckReport): CheckReport {
  report.ok = report.problems.length === 0;
  return report;
}
