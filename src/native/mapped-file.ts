import { CorruptionError } from '../errors.js';
import { nativeAddon } from './mapped-graph.js';

interface FileMapAddon {
  mapFile(file: string | number): { buffer: ArrayBuffer; handle: unknown };
  unmapFile(handle: unknown, buffer: ArrayBuffer): void;
}

/**
 * A whole file memory-mapped read-only and shared (native/qmap.c mapFile): views of `buffer` are
 * the page cache's pages, one copy for every process on the machine. A reader views a segment's
 * vectors this way instead of reading them into a private copy (segments/vector-block.ts).
 *
 * close() unmaps at once and detaches `buffer`, so every view of it becomes empty: nothing can
 * read unmapped memory, but whoever still uses a view reads nothing. Until then the map lives as
 * long as `buffer` does (garbage collection unmaps it otherwise).
 */
export class MappedFile {
  private closed = false;
  /** Holders that will each close() it (retain() adds one): the map goes with the last. */
  private owners = 1;

  private constructor(
    private readonly lib: FileMapAddon,
    private readonly handle: unknown,
    readonly buffer: ArrayBuffer,
  ) {}

  /**
   * Maps `file`: a path (never through a symbolic link) or a descriptor the caller holds (then
   * the map is of that very file, whatever its name means by now; the caller still closes it).
   * Null when it cannot be mapped here (no addon, QUIVER_NATIVE=0, or the OS refused). A file
   * gone since it was named, or empty, is CorruptionError.
   */
  static open(file: string | number, name: string): MappedFile | null {
    const lib = nativeAddon() as FileMapAddon | null;
    if (!lib?.mapFile) return null;
    try {
      const { buffer, handle } = lib.mapFile(file);
      return new MappedFile(lib, handle, buffer);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const message = err instanceof Error ? err.message : String(err);
      // Removed since it was named: a checkpoint replaced it, and a reader retries on the newer
      // manifest (a CorruptionError that a newer manifest explains), as for graphs.
      if (code === 'QUIVER_MISSING') throw new CorruptionError(name, `missing: ${message}`, { cause: err });
      if (code === 'QUIVER_CORRUPT') throw new CorruptionError(name, message, { cause: err });
      // The OS or the runtime would not map it (a filesystem without shared maps, a runtime that
      // forbids external buffers): the caller reads the file privately instead, same bytes.
      return null;
    }
  }

  /** Whether files can be mapped here (the addon is built and QUIVER_NATIVE is not 0). */
  static available(): boolean {
    return Boolean((nativeAddon() as FileMapAddon | null)?.mapFile);
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /** One more holder (a graph searching the same map as a vault's vectors): the map stays until each has closed it. */
  retain(): this {
    this.owners++;
    return this;
  }

  close(): void {
    if (this.closed || --this.owners > 0) return;
    this.closed = true;
    this.lib.unmapFile(this.handle, this.buffer);
  }
}
