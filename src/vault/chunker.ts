import { ValidationError } from '../errors.js';
import type { DocumentInput } from './document.js';
import { wordSpans } from '../embedder/tokenize.js';

export interface ChunkOptions {
  /** Target chunk length in characters (default 1000). A single longer word is its own chunk. */
  size?: number;
  /** Characters each chunk repeats from the end of the one before (default 200). */
  overlap?: number;
}

/**
 * Splits a document into overlapping chunks cut on word boundaries, with ids `<docId>#<n>` and
 * the UTF-16 offsets of each chunk in `text`. Deterministic; a short text is one chunk.
 */
export function chunkText(docId: string, text: string, options: ChunkOptions = {}): DocumentInput[] {
  const size = options.size ?? 1000;
  const overlap = options.overlap ?? 200;
  if (!Number.isSafeInteger(size) || size < 1) throw new ValidationError('size', 'must be a positive integer');
  if (!Number.isSafeInteger(overlap) || overlap < 0 || overlap >= size) throw new ValidationError('overlap', 'must be an integer from 0 to size - 1');
  const words = wordSpans(text);
  if (words.length === 0) throw new ValidationError('text', 'has no words to chunk');
  const chunks: DocumentInput[] = [];
  let first = 0;
  while (first < words.length) {
    const start = words[first]!.start;
    let last = first;
    while (last + 1 < words.length && words[last + 1]!.end - start <= size) last++;
    const end = words[last]!.end;
    const index = chunks.length;
    chunks.push({ id: `${docId}#${index}`, text: text.slice(start, end), chunk: { docId, index, start, end } });
    if (last === words.length - 1) break;
    // The next chunk starts at the first word inside the overlap window, but always moves on.
    let next = last + 1;
    while (next - 1 > first && words[next - 1]!.start >= end - overlap) next--;
    first = next;
  }
  return chunks;
}
