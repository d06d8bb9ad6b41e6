import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseWalHeader } from '../../src/wal/frame.js';
import { readFrames } from '../../src/wal/wal-reader.js';
import { createHash } from 'node:crypto';
import { seededRandom } from '../../src/util/random.js';

const made: string[] = [];
// At exit, not in an after() hook: this module's hook would be registered before a test file's
// own (imports run first) and so run before it, removing a directory that hook still needs
// (a server child stopped by it, whose writer fence then finds LOCK unlinked).
process.once('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh empty directory, removed when the test file ends. */
export function tmpDir(prefix = 'quiver-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A path inside a fresh directory that does not exist yet. */
export function dbPath(): string {
  return path.join(tmpDir(), 'db');
}

/** Seeded uniform floats in [-1, 1). */
export function seeded(seed: number): () => number {
  const r = seededRandom(seed);
  return () => r() * 2 - 1;
}

export function vectors(count: number, dim: number, seed = 1): Float32Array[] {
  const r = seeded(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, r));
}

/**
 * Every file under `dir` (lock artefacts aside) with its size and SHA-256: two equal
 * fingerprints mean nothing on disk changed. wal.log counts by what it holds (its log id and
 * its frames but for their CRCs): every writer session starts a new generation with a new salt,
 * which re-seals the same frames (FORMAT.md "Log generations").
 */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (child === 'LOCK' || child === 'LOCK.lock' || child.startsWith('readers')) continue;
      if (entry.isDirectory()) walk(child);
      else {
        const bytes = child === 'wal.log' ? logContent(fs.readFileSync(path.join(dir, child))) : fs.readFileSync(path.join(dir, child));
        out[child] = `${bytes.byteLength}:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
      }
    }
  };
  walk('');
  return out;
}

/** A log's id and its frames with their CRC fields zeroed; the raw bytes if it does not parse. */
function logContent(bytes: Buffer): Buffer {
  try {
    const header = parseWalHeader(bytes);
    if (!header) return bytes;
    const out = [Buffer.from(String(header.logId)), Buffer.from(bytes.subarray(header.size))];
    for (const frame of readFrames(bytes, header.size, 0, header.salt).frames) out[1]!.fill(0, frame.offset - header.size + 4, frame.offset - header.size + 8);
    return Buffer.concat(out);
  } catch {
    return bytes;
  }
}
