/**
 * What a reader process has mapped from a database directory, watched from inside that process
 * (Linux /proc): the graph files named in /proc/self/maps, each held open by an fd of our own at
 * first sight, with its inode, size and CRC32C; then, while the mapping is still there, the same
 * file (through that fd, so an unlinked file is still reached) must keep its size and its bytes.
 * A file rewritten or truncated in place under a map is exactly what a reader cannot survive
 * (FORMAT.md "Readers", mapped graphs): wrong answers or SIGBUS.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '../../src/format/crc.js';

interface Tracked {
  name: string;
  ino: number;
  fd: number;
  size: number;
  crc: number;
}

interface Mapping {
  range: string;
  ino: number;
  file: string;
  deleted: boolean;
}

export interface MapStats {
  /** Distinct mapped files seen, and the most mapped at once. */
  tracked: number;
  mostAtOnce: number;
  /** Checks of a mapped file's size (every scan) and bytes (every `full` scan, and at unmap). */
  sizeChecks: number;
  byteChecks: number;
  /** Byte checks made while the file's name was already unlinked (the writer removed it). */
  unlinkedChecks: number;
  /** Mapped files seen only once unlinked, where /proc/self/map_files could not be opened either. */
  unreachable: number;
  /** Files read whole rather than mapped (graph sidecars), found on disk and checked against their manifest. */
  readChecks: number;
}

function fileCrc(fd: number, size: number): number {
  const chunk = Buffer.allocUnsafe(1 << 20);
  let crc = 0;
  for (let at = 0; at < size; ) {
    const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
    if (n === 0) break;
    crc = crc32c(chunk.subarray(0, n), crc);
    at += n;
  }
  return crc;
}

/** The mappings of files under `folder` whose names end with `suffix`. */
function mappings(folder: string, suffix: string): Mapping[] {
  const out: Mapping[] = [];
  const seen = new Set<number>();
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    // address perms offset dev inode path (the path may hold spaces; " (deleted)" once unlinked)
    const m = /^(\S+)\s+\S+\s+\S+\s+\S+\s+(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    let file = m[3]!;
    const deleted = file.endsWith(' (deleted)');
    if (deleted) file = file.slice(0, -' (deleted)'.length);
    if (path.dirname(file) !== folder || !file.endsWith(suffix)) continue;
    const ino = Number(m[2]);
    if (seen.has(ino)) continue;
    seen.add(ino);
    out.push({ range: m[1]!, ino, file, deleted });
  }
  return out;
}

export class MappedFiles {
  private readonly files = new Map<number, Tracked>();
  /** name -> the size and CRC a manifest gave it: a name must never stand for other bytes. */
  private readonly refs = new Map<string, { bytes: number; crc32c: number }>();
  readonly stats: MapStats = { tracked: 0, mostAtOnce: 0, sizeChecks: 0, byteChecks: 0, unlinkedChecks: 0, unreachable: 0, readChecks: 0 };

  constructor(
    private readonly folder: string,
    private readonly suffix: string,
    private readonly fail: (why: string) => void,
  ) {}

  /** A manifest names `name` with this size and CRC: the same as every manifest before, and as the file if we hold it. */
  named(name: string, ref: { bytes: number; crc32c: number }): void {
    const known = this.refs.get(name);
    if (known && (known.bytes !== ref.bytes || known.crc32c !== ref.crc32c)) {
      this.fail(`${name} is named by two manifests with different contents (${known.bytes}/${known.crc32c} then ${ref.bytes}/${ref.crc32c}): a name was reused`);
    }
    this.refs.set(name, { bytes: ref.bytes, crc32c: ref.crc32c });
  }

  /**
   * A file readers read whole instead of mapping (a graph's sidecar): while its name exists it
   * holds the bytes its manifest gives it, never rewritten in place. Gone is fine (removed).
   */
  onDisk(file: string, ref: { bytes: number; crc32c: number }): void {
    this.named(path.basename(file), ref);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return;
    }
    this.stats.readChecks++;
    if (bytes.byteLength !== ref.bytes || crc32c(bytes) !== ref.crc32c) this.fail(`${path.basename(file)} holds ${bytes.byteLength} bytes, CRC ${crc32c(bytes)}; its manifest says ${ref.bytes}, ${ref.crc32c}`);
  }

  /**
   * Looks at what is mapped now: new files are recorded, mapped ones re-checked (bytes too when
   * `full`), unmapped ones checked a last time and let go. Returns how many were new.
   */
  scan(full: boolean): number {
    let added = 0;
    const now = mappings(this.folder, this.suffix);
    this.stats.mostAtOnce = Math.max(this.stats.mostAtOnce, now.length);
    const present = new Set(now.map((m) => m.ino));
    for (const [ino, t] of this.files) {
      if (present.has(ino)) continue;
      this.check(t, true);
      fs.closeSync(t.fd);
      this.files.delete(ino);
    }
    for (const m of now) {
      const t = this.files.get(m.ino);
      if (t) this.check(t, full);
      else if (this.track(m)) added++;
    }
    return added;
  }

  /** Checks every file still held and lets them go (at the end of the run). */
  finish(): void {
    for (const t of this.files.values()) {
      this.check(t, true);
      fs.closeSync(t.fd);
    }
    this.files.clear();
  }

  private track(m: Mapping): boolean {
    let fd: number | null = null;
    const name = path.basename(m.file);
    if (!m.deleted) {
      try {
        fd = fs.openSync(m.file, 'r');
        if (fs.fstatSync(fd).ino !== m.ino) {
          // The name now stands for another file than the one mapped: a name was reused.
          this.fail(`${name}: the mapped file is inode ${m.ino}, the name now opens inode ${fs.fstatSync(fd).ino}`);
          fs.closeSync(fd);
          fd = null;
        }
      } catch {
        fd = null; // unlinked since /proc/self/maps was read
      }
    }
    if (fd === null) {
      try {
        fd = fs.openSync(`/proc/self/map_files/${m.range}`, 'r');
      } catch {
        this.stats.unreachable++;
        return false;
      }
    }
    const st = fs.fstatSync(fd);
    const t: Tracked = { name, ino: m.ino, fd, size: st.size, crc: fileCrc(fd, st.size) };
    const ref = this.refs.get(name);
    if (ref && (ref.bytes !== t.size || ref.crc32c !== t.crc)) this.fail(`${name} was mapped with ${t.size} bytes, CRC ${t.crc}; its manifest says ${ref.bytes}, ${ref.crc32c}`);
    this.files.set(m.ino, t);
    this.stats.tracked++;
    return true;
  }

  private check(t: Tracked, full: boolean): void {
    const st = fs.fstatSync(t.fd);
    this.stats.sizeChecks++;
    if (st.size !== t.size) this.fail(`${t.name} (inode ${t.ino}) changed size under the map: ${t.size} -> ${st.size} bytes`);
    if (!full) return;
    this.stats.byteChecks++;
    if (st.nlink === 0) this.stats.unlinkedChecks++;
    const crc = fileCrc(t.fd, Math.min(st.size, t.size));
    if (st.size === t.size && crc !== t.crc) this.fail(`${t.name} (inode ${t.ino}) changed bytes under the map: CRC ${t.crc} -> ${crc}`);
  }
}
