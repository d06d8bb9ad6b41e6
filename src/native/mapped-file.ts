import { constants } from 'node:buffer';
import { CorruptionError } from '../errors.js';
import { nextTurn } from '../util/loop-turns.js';
import { nativeAddon } from './mapped-graph.js';

interface FileMapAddon {
  mapFile(file: string | number): { handle: unknown; length: number };
  mapView(handle: unknown, offset: number, length: number): ArrayBuffer;
  unmapFile(handle: unknown, views: ArrayBuffer[]): void;
}

const MAX_LENGTH = constants.MAX_LENGTH;

/** Bytes between the starts of two windows. */
const WINDOW_STRIDE = 32 << 20;
/** Bytes a window reaches past the next one's start: any range at most this long lies whole in the window of its first byte. */
export const WINDOW_OVERLAP = 4 << 20;

/** A slice of a map: `bytes` and `floats` view the file from byte `start`. */
export interface MapWindow {
  start: number;
  bytes: Uint8Array;
  /** The same bytes as floats (`start` is 4-aligned): float i is file bytes start + 4i. */
  floats: Float32Array;
}

/**
 * A whole file memory-mapped read-only and shared (native/qmap.c mapFile): views of it are the
 * page cache's pages, one copy for every process on the machine. A reader views a segment's
 * vectors this way instead of reading them into a private copy (segments/vector-block.ts).
 *
 * Two ways to view it. `buffer` is the whole file as one ArrayBuffer, made at first use. window(at)
 * is the slice holding bytes [at, at + WINDOW_OVERLAP): windows start every WINDOW_STRIDE bytes and
 * overlap by WINDOW_OVERLAP, so any record up to that long is whole in one. V8 counts an external
 * buffer's bytes as memory a collection could free: a 1.6 GB buffer made at once forces the next
 * collection to be an atomic mark-compact of the whole heap (133-340 ms on a writer's heap at 1M
 * records, measured), while windows made a turn apart (openWindows) let it mark incrementally.
 * A writer's graph is read by window for that reason (segments/graph-view.ts).
 *
 * close() unmaps at once and detaches every view, so each becomes empty: nothing can read unmapped
 * memory, but whoever still uses a view reads nothing. Until then the map lives as long as any
 * view or the handle does (garbage collection unmaps it otherwise).
 */
export class MappedFile {
  private closed = false;
  /** Holders that will each close() it (retain() adds one): the map goes with the last. */
  private owners = 1;
  private whole: ArrayBuffer | null = null;
  private readonly windows: (MapWindow | undefined)[] = [];

  private constructor(
    private readonly lib: FileMapAddon,
    private readonly handle: unknown,
    readonly byteLength: number,
  ) {}

  /**
   * Maps `file`: a path (never through a symbolic link) or a descriptor the caller holds (then
   * the map is of that very file, whatever its name means by now; the caller still closes it).
   * Null when it cannot be mapped here (no addon, QUIVER_NATIVE=0, or the OS refused). A file
   * gone since it was named, or empty, is CorruptionError.
   */
  static open(file: string | number, name: string): MappedFile | null {
    const lib = nativeAddon() as FileMapAddon | null;
    if (!lib?.mapFile || !lib.mapView) return null;
    try {
      const { handle, length } = lib.mapFile(file);
      const map = new MappedFile(lib, handle, length);
      // A file no one view can cover whole (Node refuses external buffers past MAX_LENGTH), or a
      // runtime that forbids external buffers: read privately instead, as before maps by window.
      if (length > MAX_LENGTH) return map.dropped();
      try {
        map.makeWindow(0);
      } catch {
        return map.dropped();
      }
      return map;
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
    const lib = nativeAddon() as FileMapAddon | null;
    return Boolean(lib?.mapFile && lib.mapView);
  }

  /** The whole file as one buffer (made at first use; empty once closed). */
  get buffer(): ArrayBuffer {
    if (!this.whole) this.whole = this.closed ? new ArrayBuffer(0) : this.lib.mapView(this.handle, 0, this.byteLength);
    return this.whole;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The window holding bytes [at, at + WINDOW_OVERLAP) (or to the end of the file), made at first use. */
  window(at: number): MapWindow {
    const k = Math.floor(at / WINDOW_STRIDE);
    return this.windows[k] ?? this.makeWindow(k);
  }

  /** Makes every window, one per turn of the event loop (see the class comment). */
  async openWindows(): Promise<void> {
    for (let k = 0; k * WINDOW_STRIDE < this.byteLength && !this.closed; k++) {
      if (this.windows[k]) continue;
      this.makeWindow(k);
      await nextTurn();
    }
  }

  /** Unmaps a map open() will not hand out; null. */
  private dropped(): null {
    this.close();
    return null;
  }

  private makeWindow(k: number): MapWindow {
    const start = k * WINDOW_STRIDE;
    if (this.closed || start >= this.byteLength) return { start, bytes: new Uint8Array(0), floats: new Float32Array(0) };
    const length = Math.min(this.byteLength - start, WINDOW_STRIDE + WINDOW_OVERLAP);
    // Over the whole buffer where there is one (no more bytes for V8 to count); else a view of its own.
    const [buffer, at] = this.whole ? [this.whole, start] : [this.lib.mapView(this.handle, start, length), 0];
    const window = { start, bytes: new Uint8Array(buffer, at, length), floats: new Float32Array(buffer, at, length >>> 2) };
    this.windows[k] = window;
    return window;
  }

  /** One more holder (a graph searching the same map as a vault's vectors): the map stays until each has closed it. */
  retain(): this {
    this.owners++;
    return this;
  }

  close(): void {
    if (this.closed || --this.owners > 0) return;
    this.closed = true;
    const views = new Set<ArrayBuffer>();
    if (this.whole) views.add(this.whole);
    for (const w of this.windows) if (w) views.add(w.bytes.buffer as ArrayBuffer);
    this.lib.unmapFile(this.handle, [...views]);
  }
}
