/**
 * A child for the import crash test. import-child <existing|new> <db> <export> <n>: imports
 * <export> into <db> (opened first, or created from the export by importDatabase), on a
 * filesystem that hangs at the n-th durable call the import makes: it prints
 * "stalled <n> <call> <arg>" there and waits to be SIGKILLed, or "done" if the import made
 * fewer calls.
 */
import { open, importDatabase } from '../../src/index.js';
import { nodeFileSystem, overlay, type FileSystem } from '../../src/fs/file-system.js';

const [mode, dir, source, nArg] = process.argv.slice(2);
const stallAt = Number(nArg);
let armed = false;
let calls = 0;
const hang = (): Promise<never> => new Promise(() => setInterval(() => undefined, 1000));
const gate = async (call: string, arg: string): Promise<void> => {
  if (!armed || ++calls < stallAt) return;
  process.stdout.write(`stalled ${calls} ${call} ${arg}\n`);
  await hang();
};
const wrap = <K extends 'writeFileSynced' | 'syncFile' | 'rename' | 'unlink' | 'mkdir' | 'unlinkDir' | 'syncDir' | 'fsync' | 'truncate'>(name: K) =>
  (async (...args: unknown[]) => {
    await gate(name, String(args[0]));
    return (nodeFileSystem[name] as (...a: unknown[]) => Promise<unknown>)(...args);
  }) as FileSystem[K];
/** Appends to the log are synchronous: the stall blocks the thread (the pipe write is synchronous on Linux). */
const writeSync: FileSystem['writeSync'] = (fd, data, position) => {
  if (armed && ++calls >= stallAt) {
    process.stdout.write(`stalled ${calls} writeSync ${position}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
  nodeFileSystem.writeSync(fd, data, position);
};
const fs = overlay(nodeFileSystem, {
  writeSync,
  writeFileSynced: wrap('writeFileSynced'),
  syncFile: wrap('syncFile'),
  rename: wrap('rename'),
  unlink: wrap('unlink'),
  mkdir: wrap('mkdir'),
  unlinkDir: wrap('unlinkDir'),
  syncDir: wrap('syncDir'),
  fsync: wrap('fsync'),
  truncate: wrap('truncate'),
});

if (mode === 'existing') {
  const db = await open(dir!, { fs });
  armed = true;
  await db.import(source!);
  process.stdout.write(`done ${calls}\n`);
  await db.close();
} else {
  armed = true;
  await importDatabase(dir!, source!, { fs });
  process.stdout.write(`done ${calls}\n`);
}
