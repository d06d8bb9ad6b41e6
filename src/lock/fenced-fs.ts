import { overlay, type FileSystem } from '../fs/file-system.js';
import type { Fence } from './fence.js';

/**
 * The writer's filesystem: every call that replaces, renames, truncates or removes a file
 * first makes sure the lock is still ours and fresh (Fence.fresh), so a writer whose lock was
 * taken over never overwrites the new writer's manifest, segments or log. Appends to the log
 * (writeSync) are not fenced here: they are confirmed after the fact, before acknowledgement,
 * which costs one check per event-loop turn instead of one per write (WalWriter.durable).
 */
export function fencedFileSystem(fs: FileSystem, fence: Fence): FileSystem {
  return overlay(fs, {
    async writeFileSynced(path, chunks) {
      await fence.fresh();
      return fs.writeFileSynced(path, chunks);
    },
    async rename(from, to) {
      await fence.fresh();
      return fs.rename(from, to);
    },
    async truncate(fd, length) {
      await fence.fresh();
      return fs.truncate(fd, length);
    },
    async unlink(path) {
      await fence.fresh();
      return fs.unlink(path);
    },
    async unlinkDir(path) {
      await fence.fresh();
      return fs.unlinkDir(path);
    },
    async removeTree(path) {
      await fence.fresh();
      return fs.removeTree(path);
    },
    async writeNative(path, write, sync) {
      await fence.fresh();
      return fs.writeNative(path, write, sync);
    },
  });
}
