import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { encode } from '../../format/codec.js';
import type { Layer, ResourceValue } from '../../vault/layers.js';
import { checkPayloadValue, validatePayload, type Payload } from '../../vault/payload.js';
import type { Retention, StoredTrace } from '../../vault/traces.js';
import type { VaultState } from '../../vault/vault-state.js';
import type { Op } from '../../format/records.js';
import { checkId } from '../../vault/names.js';

/**
 * Builders for layer, branch and trace operations: validate against the vault as it will be
 * after the operations already built in the same write (a `Pending` overlay), and return ops.
 * Nothing changes until the engine logs and applies them.
 */
export interface Pending {
  heads: Map<string, string | null>;
  nextLayer: number;
  /** Layers committed earlier in the same write. */
  layers: Map<string, Layer>;
}

export function pendingFor(vault: VaultState): Pending {
  return { heads: new Map(vault.layers.branches), nextLayer: vault.layers.nextLayer, layers: new Map() };
}

export const BRANCH_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const MAX_IRI_BYTES = 2048;

export function checkBranchName(name: unknown, field = 'branch'): string {
  if (typeof name !== 'string' || !BRANCH_NAME.test(name)) throw new ValidationError(field, `branch names match ${BRANCH_NAME.source}`);
  return name;
}

export function checkIri(iri: unknown, field: string): string {
  if (typeof iri !== 'string' || iri.length === 0 || Buffer.byteLength(iri) > MAX_IRI_BYTES) throw new ValidationError(field, `IRIs are non-empty strings of at most ${MAX_IRI_BYTES} UTF-8 bytes`);
  return iri;
}

function layerExists(vault: VaultState, pending: Pending, id: string | null, field: string): string | null {
  if (id === null) return null;
  if (typeof id !== 'string' || (!vault.layers.get(id) && !pending.layers.has(id))) throw new NotFoundError('layer', `${field}: no layer "${String(id)}" in vault "${vault.name}"`);
  return id;
}

/** Whether `a` is `b` or an ancestor of `b`, counting layers committed earlier in the same write. */
function reaches(vault: VaultState, pending: Pending, a: string, b: string): boolean {
  for (let id: string | null = b; id !== null; ) {
    const fresh = pending.layers.get(id);
    if (!fresh) return vault.layers.isAncestor(a, id);
    if (id === a) return true;
    id = fresh.parent;
  }
  return false;
}

export interface CommitInput {
  branch?: string;
  resources: Record<string, ResourceValue> | Map<string, ResourceValue>;
  meta?: Payload | null;
  /** Compare-and-set: the commit fails with ConflictError unless the branch head is this. */
  expectedHead?: string | null;
}

export function layerCommitOp(vault: VaultState, pending: Pending, input: CommitInput, maxBytes: number): Op & { type: 'layerCommit' } {
  if (typeof input !== 'object' || input === null) throw new ValidationError('commit', 'must be an object');
  const branch = checkBranchName(input.branch ?? 'main');
  if (!pending.heads.has(branch)) throw new NotFoundError('branch', `no branch "${branch}" in vault "${vault.name}"`);
  const head = pending.heads.get(branch)!;
  if (input.expectedHead !== undefined && input.expectedHead !== head) {
    throw new ConflictError('CONFLICT', `branch "${branch}" is at ${JSON.stringify(head)}, not the expected ${JSON.stringify(input.expectedHead)}`);
  }
  const entries = input.resources instanceof Map ? [...input.resources] : typeof input.resources === 'object' && input.resources !== null ? Object.entries(input.resources) : null;
  if (!entries || entries.length === 0) throw new ValidationError('resources', 'must be a non-empty object or Map of IRI -> resource (null deletes)');
  const resources = new Map<string, ResourceValue>();
  let bytes = 0;
  for (const [iri, value] of entries) {
    checkIri(iri, `resources[${JSON.stringify(iri)}]`);
    const v = value === null ? { payload: null, bytes: null } : validatePayload(value, maxBytes);
    if (value !== null && v.payload === null) throw new ValidationError(`resources[${JSON.stringify(iri)}]`, 'must be a plain object or null');
    resources.set(iri, v.payload);
    bytes += Buffer.byteLength(iri) + (v.bytes?.byteLength ?? 0);
  }
  const meta = input.meta === undefined || input.meta === null ? null : validatePayload(input.meta, maxBytes).payload;
  const layer: Layer = { id: `L${pending.nextLayer}`, parent: head, branch, meta, at: Date.now(), resources, bytes };
  pending.nextLayer++;
  pending.heads.set(branch, layer.id);
  pending.layers.set(layer.id, layer);
  return { type: 'layerCommit', vault: vault.number, layer, move: branch };
}

/**
 * A whole layer, as a write logs it: id `L<n>` not yet used, parent null or an existing layer
 * (in the vault or earlier in the same write), a valid branch name, a finite time. Writes build
 * layers that pass by construction; an import's layers come from a file and are checked here,
 * with the same rules, so nothing is logged that replay would refuse.
 */
export function checkLayer(vault: VaultState, pending: Pending, layer: Layer, field = 'layer'): Layer {
  if (typeof layer.id !== 'string' || !/^L[1-9]\d*$/.test(layer.id)) throw new ValidationError(`${field}.id`, `must be L<n>, got ${JSON.stringify(layer.id)}`);
  if (vault.layers.get(layer.id) || pending.layers.has(layer.id)) throw new ConflictError('ALREADY_EXISTS', `${field}: layer ${layer.id} already exists in vault "${vault.name}"`);
  if (layer.parent !== null && typeof layer.parent !== 'string') throw new ValidationError(`${field}.parent`, `must be a layer id or null, got ${JSON.stringify(layer.parent)}`);
  layerExists(vault, pending, layer.parent, `${field}.parent`);
  checkBranchName(layer.branch, `${field}.branch`);
  if (!Number.isFinite(layer.at)) throw new ValidationError(`${field}.at`, 'must be a finite number of ms');
  if (!(layer.resources instanceof Map)) throw new ValidationError(`${field}.resources`, 'must be a Map');
  const n = Number(layer.id.slice(1));
  if (n >= pending.nextLayer) pending.nextLayer = n + 1;
  pending.layers.set(layer.id, layer);
  return layer;
}

export function branchCreateOp(vault: VaultState, pending: Pending, name: string, from: string | null): Op {
  checkBranchName(name, 'name');
  if (pending.heads.has(name)) throw new ConflictError('ALREADY_EXISTS', `branch "${name}" already exists`);
  const head = layerExists(vault, pending, from ?? null, 'fromLayer');
  pending.heads.set(name, head);
  return { type: 'branchSet', vault: vault.number, name, head };
}

export function branchUpdateOp(vault: VaultState, pending: Pending, name: string, head: string | null, expectedHead: string | null | undefined): Op {
  checkBranchName(name, 'name');
  if (!pending.heads.has(name)) throw new NotFoundError('branch', `no branch "${name}" in vault "${vault.name}"`);
  const current = pending.heads.get(name)!;
  if (expectedHead !== undefined && expectedHead !== current) {
    throw new ConflictError('CONFLICT', `branch "${name}" is at ${JSON.stringify(current)}, not the expected ${JSON.stringify(expectedHead)}`);
  }
  layerExists(vault, pending, head, 'head');
  pending.heads.set(name, head);
  return { type: 'branchSet', vault: vault.number, name, head };
}

/**
 * A branch whose head no other branch reaches holds the only reference to its layers: deleting
 * it would orphan them, so it is refused unless `force` (they are then collected by compact()).
 */
export function branchDeleteOp(vault: VaultState, pending: Pending, name: string, force: boolean): Op {
  checkBranchName(name, 'name');
  if (!pending.heads.has(name)) throw new NotFoundError('branch', `no branch "${name}" in vault "${vault.name}"`);
  const head = pending.heads.get(name)!;
  if (!force && head !== null) {
    const reached = [...pending.heads].some(([other, h]) => other !== name && h !== null && reaches(vault, pending, head, h));
    if (!reached) throw new ConflictError('CONFLICT', `branch "${name}" is the only reference to layer ${head}; delete it with { force: true } (compact() then collects its layers)`);
  }
  pending.heads.delete(name);
  return { type: 'branchDelete', vault: vault.number, name };
}

export interface TraceOptions {
  /** Completion time (default now). */
  at?: Date | number;
  links?: { records?: string[]; layers?: string[] };
}

export function tracePutOp(vault: VaultState, key: string, trace: unknown, options: TraceOptions, maxBytes: number): Op {
  checkId(key, 'key');
  if (trace === undefined) throw new ValidationError('trace', 'is required');
  let bytes: Uint8Array;
  try {
    if (typeof trace === 'object' && trace !== null && !Array.isArray(trace)) bytes = validatePayload(trace, maxBytes).bytes!;
    else {
      // Any other trace holds payload values too: what is encoded must decode to the same.
      checkPayloadValue(trace, 'payload');
      bytes = encode(trace);
    }
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.field.replace(/^payload/, 'trace'), err.message.replace(/^payload: /, ''));
    throw new ValidationError('trace', 'is not msgpack-encodable', { cause: err });
  }
  if (bytes.byteLength > maxBytes) throw new ValidationError('trace', `encodes to ${bytes.byteLength} bytes, over the ${maxBytes}-byte limit`);
  const at = options.at === undefined ? Date.now() : options.at instanceof Date ? options.at.getTime() : options.at;
  if (!Number.isFinite(at)) throw new ValidationError('at', 'must be a Date or a finite number of ms');
  const list = (v: unknown, field: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ValidationError(field, 'must be an array of strings');
    return [...v];
  };
  const stored: StoredTrace = { key, at, bytes, links: { records: list(options.links?.records, 'links.records'), layers: list(options.links?.layers, 'links.layers') } };
  return { type: 'tracePut', vault: vault.number, trace: stored };
}

export function checkRetention(r: unknown): Retention {
  if (typeof r !== 'object' || r === null) throw new ValidationError('retention', 'must be an object');
  const out: Retention = {};
  for (const [k, v] of Object.entries(r)) {
    if (k !== 'maxCount' && k !== 'maxBytes' && k !== 'maxAgeMs') throw new ValidationError(`retention.${k}`, 'unknown limit');
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ValidationError(`retention.${k}`, 'must be a non-negative integer');
    out[k] = v as number;
  }
  return out;
}
