import { CorruptionError } from '../errors.js';
import { FILE_HEADER_SIZE, Magic, SECTION_ALIGN, SECTION_HEADER_SIZE, type MagicKind } from './constants.js';
import { crc32c } from './crc.js';

/**
 * The container shared by IDENTITY, quiver.manifest, segments and quiver.snapshot
 * (FORMAT.md "Sectioned files"): a 16-byte file header, then sections, each framed by a
 * 16-byte header whose CRC32C covers the header's first 12 bytes and the payload.
 */

export interface Section {
  kind: number;
  payload: Uint8Array;
}

export interface SectionedFile {
  version: number;
  sections: Section[];
}

function padding(length: number): number {
  return (SECTION_ALIGN - (length % SECTION_ALIGN)) % SECTION_ALIGN;
}

/** The zero bytes after a payload of `length` bytes that align the next section (empty when none). */
export function sectionPadding(length: number): Uint8Array {
  return Buffer.alloc(padding(length));
}

/** The 16-byte file header for `sections` sections. */
export function fileHeader(kind: MagicKind, version: number, sections: number): Uint8Array {
  const header = Buffer.alloc(FILE_HEADER_SIZE);
  header.write(Magic[kind], 0, 'latin1');
  header.writeUInt32LE(version, 4);
  header.writeUInt32LE(sections, 8);
  header.writeUInt32LE(crc32c(header.subarray(0, 12)), 12);
  return header;
}

/**
 * A section's header with its CRC left at 0, and the CRC32C of its first 12 bytes: the section
 * CRC is that seed continued over the payload (sectionHeader below, or crc32c(part, seed) part by
 * part for a payload made in parts), then written at byte 12.
 */
export function sectionHead(kind: number, length: number): { header: Buffer; seed: number } {
  const header = Buffer.alloc(SECTION_HEADER_SIZE);
  header.writeBigUInt64LE(BigInt(length), 0);
  header.writeUInt32LE(kind, 8);
  return { header, seed: crc32c(header.subarray(0, 12)) };
}

/** One section as chunks: its header, its payload and the padding after it (when any). */
export function sectionChunks(section: Section): Uint8Array[] {
  const { header, seed } = sectionHead(section.kind, section.payload.byteLength);
  header.writeUInt32LE(crc32c(section.payload, seed), 12);
  const pad = padding(section.payload.byteLength);
  return pad > 0 ? [header, section.payload, Buffer.alloc(pad)] : [header, section.payload];
}

/** Encodes a file as a list of chunks (no single copy of large payloads). */
export function encodeSectioned(kind: MagicKind, version: number, sections: readonly Section[]): Uint8Array[] {
  return [fileHeader(kind, version, sections.length), ...sections.flatMap(sectionChunks)];
}

export function sectionedByteLength(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((sum, c) => sum + c.byteLength, 0);
}

export interface SectionedHeader {
  version: number;
  sectionCount: number;
}

/** Reads and verifies the file header only: magic, then CRC, then returns the version. */
export function decodeSectionedHeader(bytes: Uint8Array, kind: MagicKind, file: string): SectionedHeader {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < FILE_HEADER_SIZE) {
    throw new CorruptionError(file, `file is ${buf.byteLength} bytes, shorter than its ${FILE_HEADER_SIZE}-byte header`);
  }
  const magic = buf.toString('latin1', 0, 4);
  if (magic !== Magic[kind]) {
    throw new CorruptionError(file, `bad magic ${JSON.stringify(magic)}, expected ${JSON.stringify(Magic[kind])}`, { offset: 0 });
  }
  if (crc32c(buf.subarray(0, 12)) !== buf.readUInt32LE(12)) {
    throw new CorruptionError(file, 'file header checksum mismatch', { offset: 0 });
  }
  return { version: buf.readUInt32LE(4), sectionCount: buf.readUInt32LE(8) };
}

/** A section whose payload a reader left out of the bytes it decodes (it reads that one apart). */
export interface Hole {
  /** Where the payload starts, in the file and in the bytes (everything before it is there). */
  at: number;
  length: number;
  /**
   * The payload is in the bytes after all (a mapped file viewed whole): it comes back as its
   * bytes, and only its CRC is left to the caller, who checked it apart (a reader's GRAPH_VECTORS).
   */
  inPlace?: boolean;
}

/**
 * Decodes and verifies every section: structure and CRC. Payloads are views into `bytes`.
 * `hole`: `bytes` is the file without that section's payload (its padding is there); the
 * section comes back with an empty payload and its CRC unchecked, for the caller to check when
 * it reads the payload (with `hole.inPlace`, the file whole and the payload viewed in it, its
 * CRC still the caller's). `verified`: the caller has checked the whole file's CRC32C against the one
 * computed as it was written (the writer reading back its own checkpoint), so the sections' own
 * CRCs are not computed again; structure and padding are still checked.
 */
export function decodeSectioned(bytes: Uint8Array, kind: MagicKind, file: string, hole?: Hole, verified = false): SectionedFile {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { version, sectionCount } = decodeSectionedHeader(buf, kind, file);
  const sections: Section[] = [];
  let offset = FILE_HEADER_SIZE;
  for (let i = 0; i < sectionCount; i++) {
    if (offset + SECTION_HEADER_SIZE > buf.byteLength) {
      throw new CorruptionError(file, `section ${i} header runs past the end of the file`, { offset });
    }
    const length = buf.readBigUInt64LE(offset);
    const sectionKind = buf.readUInt32LE(offset + 8);
    const stored = buf.readUInt32LE(offset + 12);
    const start = offset + SECTION_HEADER_SIZE;
    const held = hole !== undefined && start === hole.at;
    const apart = held && !hole.inPlace;
    if ((held && length !== BigInt(hole.length)) || (!apart && length > BigInt(buf.byteLength - start))) {
      throw new CorruptionError(file, `section ${i} length ${length} runs past the end of the file`, { offset });
    }
    const end = apart ? start : start + Number(length);
    const payload = buf.subarray(start, end);
    if (!held && !verified && crc32c(payload, crc32c(buf.subarray(offset, offset + 12))) !== stored) {
      throw new CorruptionError(file, `section ${i} (kind ${sectionKind}) checksum mismatch`, { offset });
    }
    const pad = padding(Number(length));
    if (end + pad > buf.byteLength || buf.subarray(end, end + pad).some((b) => b !== 0)) {
      throw new CorruptionError(file, `section ${i} padding is damaged`, { offset: end });
    }
    sections.push({ kind: sectionKind, payload });
    offset = end + pad;
  }
  if (offset !== buf.byteLength) {
    throw new CorruptionError(file, `${buf.byteLength - offset} unexpected bytes after the last section`, { offset });
  }
  return { version, sections };
}

/**
 * Finds the first section of `kind` by reading only the file header and the section headers
 * before it through `readAt` (a positioned read of the file, `size` bytes long): where its
 * payload starts and how long it is, or null when the file has none.
 */
export async function findSection(readAt: (position: number, length: number) => Promise<Buffer>, size: number, magic: MagicKind, file: string, kind: number): Promise<Hole | null> {
  const { sectionCount } = decodeSectionedHeader(await readAt(0, Math.min(size, FILE_HEADER_SIZE)), magic, file);
  let offset = FILE_HEADER_SIZE;
  for (let i = 0; i < sectionCount && offset + SECTION_HEADER_SIZE <= size; i++) {
    const header = await readAt(offset, SECTION_HEADER_SIZE);
    const length = header.readBigUInt64LE(0);
    const start = offset + SECTION_HEADER_SIZE;
    if (length > BigInt(size - start)) break; // decodeSectioned names the damage
    if (header.readUInt32LE(8) === kind) return { at: start, length: Number(length) };
    offset = start + Number(length) + padding(Number(length));
  }
  return null;
}

/** The single section of `kind`, or a CorruptionError naming what is missing. */
export function requireSection(file: SectionedFile, kind: number, fileName: string, what: string): Uint8Array {
  const found = file.sections.filter((s) => s.kind === kind);
  if (found.length !== 1) {
    throw new CorruptionError(fileName, `expected one ${what} section, found ${found.length}`);
  }
  return found[0]!.payload;
}
