import type { Metric } from '../format/identity.js';
import type { Neighbor } from './index/vector-index.js';
import type { StoredRecord } from './stored-record.js';
import { packTail, scanExact, scanSetBuilder, scanSetBytes, type RowScanner, type ScanSet } from './row-scan.js';
import type { VaultState } from './vault-state.js';

/** A tail shorter than this is scanned in JavaScript: packing it would cost more than it saves. */
const PACK_MIN = 64;
/** Packed tails of all of a vault's cached filters hold at most this fraction of its vectors' bytes. */
const PACK_SHARE = 0.25;

/**
 * The matches of a filter laid out for the native scan (row-scan.ts ScanSet): from an
 * index-answered filter's bitmap, or from the matching records. `cached`: the set lives in the
 * filter cache beside its bitmap (until the vault changes), so a long tail is worth packing.
 */
export function scanSetFor(vault: VaultState, matches: Uint8Array | StoredRecord[], cached: boolean): ScanSet {
  // A block without row runs (a mapped graph's vectors) gives its rows as records, to exactTopK.
  const block = vault.stored?.rowRuns === false ? null : vault.stored;
  let set: ScanSet;
  if (matches instanceof Uint8Array) set = vault.records.scanSet(matches, block);
  else {
    const builder = scanSetBuilder(block);
    for (const record of matches) builder.record(record);
    set = builder.done();
  }
  if (cached && set.tail.length >= PACK_MIN) {
    const d = vault.dimension;
    let held = 0;
    for (const entry of vault.filterCache.values()) if (entry.scan) held += scanSetBytes(entry.scan, d);
    if (held + set.tail.length * d * 4 <= PACK_SHARE * vault.records.count * d * 4) packTail(set, d);
  }
  return set;
}

/** The exact k nearest of a scan set (vault.vectorsLoaded() awaited by the caller). */
export function exactScanOf(scanner: RowScanner, vault: VaultState, set: ScanSet, metric: Metric, query: Float32Array, k: number): Neighbor[] {
  const run = set.rows.length > 0 ? vault.stored!.run(vault.dimension) : null;
  return scanExact(scanner, set, run, vault.dimension, metric, query, k);
}
