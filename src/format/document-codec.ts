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
