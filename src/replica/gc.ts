import { decodeManifest, vaultFiles } from '../segments/manifest.js';
import type { ObjectInfo, ObjectStore } from '../object-store/store.js';
import { parseCheckpointKey, parseChunkKey, segmentKey, type Root } from './layout.js';

export interface GcState {
  /** When each object was first seen unneeded (it is deleted graceMs later). */
  unneededSince: Map<string, number>;
  /** Segment keys each checkpoint manifest names, by checkpoint key. */
  manifests: Map<string, string[]>;
  lastRun: number;
}

/**
 * Deletes objects no retained checkpoint and no log chain after the oldest retained checkpoint
 * needs (FORMAT.md "Object storage: retention and deletion"). Retained: the root's checkpoint,
 * every checkpoint younger than retainMs, and the newest older one (the window's starting point).
 * An unneeded object is deleted only once it has stayed unneeded for graceMs: a replica that
 * read a root naming it has that long to fetch it. Runs only right after this writer's root write
 * succeeded, so a writer that lost the prefix never deletes for the new one.
 */
export async function collectGarbage(store: ObjectStore, root: Root, state: GcState, options: { graceMs: number; retainMs: number }): Promise<number> {
  const now = Date.now();
  state.lastRun = now;
  const checkpoints = (await store.list('checkpoints/')).flatMap((o) => {
    const parsed = parseCheckpointKey(o.key);
    return parsed ? [{ ...o, ...parsed }] : [];
  });
  const young = checkpoints.filter((c) => now - c.lastModified < options.retainMs);
  const old = checkpoints.filter((c) => now - c.lastModified >= options.retainMs && c.lsn <= root.checkpointLsn);
  const retained = new Set(young.map((c) => c.key));
  const base = old.sort((a, b) => a.lsn - b.lsn).at(-1);
  if (base) retained.add(base.key);
  if (root.checkpoint) retained.add(root.checkpoint.key);
  const kept = checkpoints.filter((c) => retained.has(c.key));
  const oldest = Math.min(root.checkpointLsn, ...kept.map((c) => c.lsn));

  const neededSegments = new Set<string>(root.checkpoint?.segments.map((s) => s.key) ?? []);
  for (const c of kept) {
    let keys = state.manifests.get(c.key);
    if (!keys) {
      const obj = await store.get(c.key);
      if (!obj) continue;
      keys = decodeManifest(obj.body).vaults.flatMap((v) => vaultFiles(v).map((ref) => segmentKey(ref.path, ref.crc32c)));
      state.manifests.set(c.key, keys);
    }
    for (const k of keys) neededSegments.add(k);
  }

  const unneeded: string[] = checkpoints.filter((c) => !retained.has(c.key)).map((c) => c.key);
  for (const s of await store.list('segments/')) if (!neededSegments.has(s.key)) unneeded.push(s.key);
  unneeded.push(...unneededChunks(await store.list('wal/'), root, oldest));

  const toDelete: string[] = [];
  const stillUnneeded = new Set(unneeded);
  for (const key of [...state.unneededSince.keys()]) if (!stillUnneeded.has(key)) state.unneededSince.delete(key);
  for (const key of unneeded) {
    const since = state.unneededSince.get(key) ?? now;
    state.unneededSince.set(key, since);
    if (now - since >= options.graceMs) toDelete.push(key);
  }
  if (toDelete.length > 0) {
    await store.delete(toDelete);
    for (const key of toDelete) {
      state.unneededSince.delete(key);
      state.manifests.delete(key);
    }
  }
  return toDelete.length;
}

/** Chunks wholly at or below `oldest` (the next chunk of their generation starts by oldest + 1), and chunks of generations the root never named. */
function unneededChunks(objects: ObjectInfo[], root: Root, oldest: number): string[] {
  const named = new Set(root.generations.map((g) => g.id));
  const byGeneration = new Map<string, { key: string; firstLsn: number }[]>();
  const out: string[] = [];
  for (const o of objects) {
    const parsed = parseChunkKey(o.key);
    if (!parsed) continue;
    if (!named.has(parsed.generation)) {
      out.push(o.key);
      continue;
    }
    const list = byGeneration.get(parsed.generation) ?? [];
    list.push({ key: o.key, firstLsn: parsed.firstLsn });
    byGeneration.set(parsed.generation, list);
  }
  for (const list of byGeneration.values()) {
    list.sort((a, b) => a.firstLsn - b.firstLsn);
    for (let i = 0; i + 1 < list.length; i++) if (list[i + 1]!.firstLsn <= oldest + 1) out.push(list[i]!.key);
  }
  return out;
}
