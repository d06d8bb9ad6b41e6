import { CorruptionError, ValidationError } from '../../errors.js';
import { checkChunk, checkText, type DocumentInfo } from '../../vault/document.js';
import type { Layer, ResourceValue } from '../../vault/layers.js';
import { validatePayload, type Payload } from '../../vault/payload.js';
import { fromJson, type ImportedVault } from './export.js';
import { checkIri } from '../ops/history-ops.js';

/** A document from an export, checked; its lineage is kept as it was. */
export function importedDocument(value: unknown, maxBytes: number): DocumentInfo | null {
  if (value === null || value === undefined) return null;
  const d = value as { text?: unknown; chunk?: unknown; lineage?: Record<string, unknown> };
  const l = d.lineage ?? {};
  if (!['provider', 'model', 'revision', 'fingerprint', 'at'].every((k) => typeof l[k] === 'string')) throw new ValidationError('document.lineage', 'is incomplete');
  return {
    text: checkText(d.text, maxBytes, 'document.text'),
    chunk: checkChunk(d.chunk, 'document.chunk'),
    lineage: { provider: l.provider as string, model: l.model as string, revision: l.revision as string, fingerprint: l.fingerprint as string, at: l.at as string },
  };
}

/** A layer from an export, with its id, parent and time kept. */
export function importedLayer(l: ImportedVault['layers'][number], maxBytes: number): Layer {
  if (typeof l.id !== 'string' || !/^L\d+$/.test(l.id) || !Number.isFinite(l.at) || !Array.isArray(l.resources)) throw new CorruptionError('layers.jsonl', `layer ${JSON.stringify(l.id)} is malformed`);
  const resources = new Map<string, ResourceValue>();
  let bytes = 0;
  for (const [iri, raw] of l.resources) {
    checkIri(iri, 'iri');
    const value = raw === null ? null : validatePayload(fromJson(raw), maxBytes);
    resources.set(iri, value === null ? null : value.payload);
    bytes += Buffer.byteLength(iri) + (value?.bytes?.byteLength ?? 0);
  }
  const meta = l.meta === null || l.meta === undefined ? null : (validatePayload(fromJson(l.meta), maxBytes).payload as Payload);
  return { id: l.id, parent: l.parent, branch: l.branch, meta, at: l.at, resources, bytes };
}

export function missing(head: string): never {
  throw new CorruptionError('branches.jsonl', `a branch points at layer ${head}, which the export does not contain`);
}
