import { ValidationError } from '../errors.js';
import type { EmbedderManifest } from '../embedder/embedder.js';

/** Where a chunk sits in the document it was cut from (UTF-16 offsets into that document). */
export interface ChunkInfo {
  docId: string;
  index: number;
  start: number;
  end: number;
}

/** Which embedder produced a record's vector, and when. */
export interface Lineage {
  provider: string;
  model: string;
  revision: string;
  fingerprint: string;
  at: string;
}

/** The document part of an insert_ex record. */
export interface DocumentInfo {
  text: string;
  chunk: ChunkInfo | null;
  lineage: Lineage;
}

export interface DocumentInput {
  id: string;
  text: string;
  payload?: Record<string, unknown> | null;
  chunk?: ChunkInfo | null;
}

export function lineageOf(manifest: EmbedderManifest): Lineage {
  return { provider: manifest.provider, model: manifest.model, revision: manifest.revision, fingerprint: manifest.fingerprint, at: new Date().toISOString() };
}

export function checkText(text: unknown, maxBytes: number, field: string): string {
  if (typeof text !== 'string' || text.length === 0) throw new ValidationError(field, 'must be a non-empty string');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new ValidationError(field, `is ${bytes} UTF-8 bytes, over the ${maxBytes}-byte limit`);
  return text;
}

export function checkChunk(chunk: unknown, field: string): ChunkInfo | null {
  if (chunk === undefined || chunk === null) return null;
  const c = chunk as Partial<ChunkInfo>;
  const ok =
    typeof c === 'object' &&
    typeof c.docId === 'string' &&
    c.docId.length > 0 &&
    [c.index, c.start, c.end].every((n) => Number.isSafeInteger(n) && (n as number) >= 0) &&
    (c.start as number) <= (c.end as number);
  if (!ok) throw new ValidationError(field, 'must be { docId, index, start, end } with 0 <= start <= end');
  return { docId: c.docId!, index: c.index!, start: c.start!, end: c.end! };
}

/** The msgpack form of a document (FORMAT.md "Record types", insert_ex). */
export function encodeDocument(doc: DocumentInfo): Record<string, unknown> {
  const { chunk: c, lineage: l } = doc;
  return {
    t: doc.text,
    c: c ? { d: c.docId, i: c.index, s: c.start, e: c.end } : null,
    l: { p: l.provider, m: l.model, r: l.revision, f: l.fingerprint, at: l.at },
  };
}

export function decodeDocument(value: unknown, fail: (why: string) => never): DocumentInfo {
  const d = value as { t?: unknown; c?: Record<string, unknown> | null; l?: Record<string, unknown> };
  if (typeof d !== 'object' || d === null || typeof d.t !== 'string' || typeof d.l !== 'object' || d.l === null) return fail('bad document');
  const l = d.l;
  const strings = [l.p, l.m, l.r, l.f, l.at];
  if (!strings.every((s) => typeof s === 'string')) return fail('bad lineage');
  let chunk: ChunkInfo | null = null;
  if (d.c) {
    const { d: docId, i, s, e } = d.c;
    if (typeof docId !== 'string' || ![i, s, e].every((n) => Number.isSafeInteger(n))) return fail('bad chunk');
    chunk = { docId, index: i as number, start: s as number, end: e as number };
  }
  return { text: d.t, chunk, lineage: { provider: l.p as string, model: l.m as string, revision: l.r as string, fingerprint: l.f as string, at: l.at as string } };
}

/** A document whose vector was computed outside quiverdb (a LangChain or LlamaIndex embedder). */
export interface EmbeddedDocumentInput extends DocumentInput {
  vector: Float32Array | readonly number[];
}

/** The outside embedder recorded as the lineage of such documents. */
export interface EmbeddingSource {
  provider: string;
  model: string;
  revision?: string;
  fingerprint?: string;
}
