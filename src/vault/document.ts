import { ValidationError } from '../errors.js';
import { checkId } from './names.js';
import type { EmbedderManifest } from '../embedder/embedder.js';
import type { ChunkInfo, DocumentInfo, Lineage } from '../format/document-codec.js';

export type { ChunkInfo, DocumentInfo, Lineage };

/** The document a record belongs to: its chunk's document id, or its own id when it is not a chunk. */
export function documentIdOf(id: string, doc: { chunk?: ChunkInfo | null } | null | undefined): string {
  return doc?.chunk?.docId ?? id;
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

/**
 * The ids addDocuments(docs, { erase }) erases in the same batch, checked and deduplicated. An
 * id also among `docs` is refused: the batch would write it and erase it at once.
 */
export function checkEraseIds(erase: unknown, docs: readonly { id: string }[]): string[] {
  if (erase === undefined) return [];
  if (!Array.isArray(erase)) throw new ValidationError('options.erase', 'must be an array of record ids');
  const written = new Set(docs.map((d) => d.id));
  const out = new Set<string>();
  erase.forEach((id: unknown, i) => {
    const checked = checkId(id, `options.erase[${i}]`);
    if (written.has(checked)) throw new ValidationError(`options.erase[${i}]`, `"${checked}" is also a document of this batch; a batch may not both write and erase an id`);
    out.add(checked);
  });
  return [...out];
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
