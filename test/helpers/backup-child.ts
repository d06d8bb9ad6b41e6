/**
 * A child that starts a backup of <db> into <dest> whose copy never finishes (the filesystem
 * stalls on the second file, the first after its staging marker), prints "copying" and waits to be SIGKILLed there.
 */
import { backupDirectory } from '../../src/engine/maintenance/backup.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';

const [dir, dest] = process.argv.slice(2);
let files = 0;
const stalled = overlay(nodeFileSystem, {
  async writeFileSynced(p, chunks) {
    await nodeFileSystem.writeFileSynced(p, chunks);
    if (++files === 2) {
      process.stdout.write('copying\n');
      await new Promise(() => setInterval(() => undefined, 1000));
    }
  },
});
await backupDirectory(stalled, dir!, dest!);
