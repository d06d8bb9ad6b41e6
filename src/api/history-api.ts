import { NotFoundError, ValidationError } from '../errors.js';
import { decode } from '../format/codec.js';
import { lineageOf } from '../vault/document.js';
import type { Layer, ResourceValue } from '../vault/layers.js';
import type { Payload } from '../vault/payload.js';
import type { Retention } from '../vault/traces.js';
import type { VaultState } from '../vault/vault-state.js';
import type { Op } from '../format/records.js';
import {
  branchCreateOp,
  branchDeleteOp,
  branchUpdateOp,
  checkIri,
  checkRetention,
  layerCommitOp,
  pendingFor,
  tracePutOp,
  type CommitInput,
  type TraceOptions,
} from '../engine/ops/history-ops.js';
import { checkId, MAX_ID_BYTES } from '../vault/names.js';
import { checkOptionTypes, TRACE_LIST_OPTIONS, TRACE_PUT_OPTIONS } from '../engine/ops/option-types.js';
import { insertOp } from '../engine/ops/record-ops.js';
import type { VaultHost } from './vault-host.js';
import { byCodeUnits } from '../util/code-units.js';

export interface LayerView {
  id: string;
  parent: string | null;
  branch: string | null;
  meta: Payload | null;
  at: Date;
  resources: Record<string, ResourceValue>;
}

export interface LayerSummary {
  id: string;
  parent: string | null;
  branch: string | null;
  meta: Payload | null;
  at: Date;
  changes: number;
}

export interface Change {
  iri: string;
  before: ResourceValue | undefined;
  after: ResourceValue | undefined;
}

const copy = <T>(v: T): T => structuredClone(v);

function view(layer: Layer): LayerView {
  return { id: layer.id, parent: layer.parent, branch: layer.branch, meta: copy(layer.meta), at: new Date(layer.at), resources: Object.fromEntries([...layer.resources].map(([k, v]) => [k, copy(v)])) };
}

/** The vault's state for a handle (throws NotFoundError once the vault is dropped). */
type VaultOf = () => VaultState;

export class Layers {
  /** @internal */
  constructor(
    private readonly host: VaultHost,
    private readonly vault: VaultOf,
  ) {}

  /**
   * Commits an immutable layer on `branch` (default 'main') whose parent is the branch head, and
   * moves the branch to it. With `embed: true`, commits on 'main' also upsert a document record
   * per resource (id = IRI) from its `textField` (default 'text'), and erase the records of
   * deleted IRIs, in the same atomic write.
   */
  async commit(input: CommitInput & { embed?: boolean; textField?: string }): Promise<{ id: string; parent: string | null }> {
    const field = input?.textField ?? 'text';
    const texts = new Map<string, string>();
    const entries = input?.resources instanceof Map ? [...input.resources] : Object.entries(input?.resources ?? {});
    if (input?.embed) {
      for (const [iri, value] of entries) {
        const text = value && typeof value === 'object' ? (value as Record<string, unknown>)[field] : undefined;
        if (typeof text === 'string' && text.trim().length > 0) texts.set(iri, text);
      }
    }
    // Embedded now, alongside earlier writes; committed in this call's slot of the write order.
    const first = input?.embed ? this.host.embedder() : null;
    const early = first && texts.size > 0 ? first.embed([...texts.values()]) : Promise.resolve([]);
    early.catch(() => undefined); // awaited in the slot; never an unhandled rejection meanwhile
    let result = { id: '', parent: null as string | null };
    await this.host.mutate(async () => {
      const embedder = first ? this.host.embedder() : null;
      const vectors = embedder === first ? await early : await embedder!.embed([...texts.values()]);
      const byIri = new Map([...texts.keys()].map((iri, i) => [iri, vectors[i]!]));
      const vault = this.vault();
      const commit = layerCommitOp(vault, pendingFor(vault), input, this.host.maxPayloadBytes());
      result = { id: commit.layer.id, parent: commit.layer.parent };
      const ops: Op[] = [commit];
      if (embedder && commit.move === 'main') {
        const lineage = lineageOf(embedder.manifest);
        const state = this.host.readable();
        for (const [iri, value] of commit.layer.resources) {
          const vector = byIri.get(iri);
          if (value !== null && vector) {
            if (Buffer.byteLength(iri) > MAX_ID_BYTES) throw new ValidationError('resources', `IRI ${iri} is too long to be a record id (${MAX_ID_BYTES} bytes)`);
            ops.push(insertOp(state, vault.number, iri, vector, { iri, layer: commit.layer.id }, this.host.maxPayloadBytes(), '', { text: texts.get(iri)!, chunk: null, lineage }));
          } else if (vault.records.get(iri)) {
            ops.push({ type: 'erase', vault: vault.number, id: iri });
          }
        }
      }
      return ops;
    }, true);
    return result;
  }

  /** The nearest definition of `iri` at `branch` (default 'main') or `layer`: the value, or null if deleted or never defined. */
  resolve(iri: string, at: { branch?: string; layer?: string } = {}): ResourceValue {
    checkIri(iri, 'iri');
    const vault = this.vault();
    const from = this.startOf(vault, at);
    return copy(vault.layers.lookup(iri, from)?.value ?? null);
  }

  /** Layers whose contents the last resolve() examined (a miss examines none). */
  get touched(): number {
    return this.vault().layers.touched;
  }

  get(id: string): LayerView | null {
    const layer = this.vault().layers.get(id);
    return layer ? view(layer) : null;
  }

  /** The branch's layers from its head back, newest first. */
  log(branch = 'main', options: { limit?: number } = {}): LayerSummary[] {
    const vault = this.vault();
    const head = this.startOf(vault, { branch });
    const out: LayerSummary[] = [];
    for (const l of vault.layers.chain(head)) {
      if (options.limit !== undefined && out.length >= options.limit) break;
      out.push({ id: l.id, parent: l.parent, branch: l.branch, meta: copy(l.meta), at: new Date(l.at), changes: l.resources.size });
    }
    return out;
  }

  /** What differs between the resources as seen from layer `a` and from layer `b`, by IRI. */
  diff(a: string, b: string): Change[] {
    const vault = this.vault();
    for (const [id, field] of [[a, 'a'], [b, 'b']] as const) if (!vault.layers.get(id)) throw new NotFoundError('layer', `${field}: no layer "${id}"`);
    const base = vault.layers.commonAncestor(a, b);
    const iris = new Set<string>();
    for (const head of [a, b]) {
      for (const l of vault.layers.chain(head)) {
        if (l.id === base) break;
        for (const iri of l.resources.keys()) iris.add(iri);
      }
    }
    const out: Change[] = [];
    for (const iri of [...iris].sort()) {
      const before = vault.layers.lookup(iri, a);
      const after = vault.layers.lookup(iri, b);
      if (JSON.stringify(before?.value) !== JSON.stringify(after?.value)) out.push({ iri, before: copy(before?.value), after: copy(after?.value) });
    }
    return out;
  }

  private startOf(vault: VaultState, at: { branch?: string; layer?: string }): string | null {
    if (at.layer !== undefined) {
      if (!vault.layers.get(at.layer)) throw new NotFoundError('layer', `no layer "${at.layer}" in vault "${vault.name}"`);
      return at.layer;
    }
    const branch = at.branch ?? 'main';
    if (!vault.layers.branches.has(branch)) throw new NotFoundError('branch', `no branch "${branch}" in vault "${vault.name}"`);
    return vault.layers.branches.get(branch)!;
  }
}

export class Branches {
  /** @internal */
  constructor(
    private readonly host: VaultHost,
    private readonly vault: VaultOf,
  ) {}

  list(): { name: string; head: string | null }[] {
    return [...this.vault().layers.branches].map(([name, head]) => ({ name, head })).sort((x, y) => byCodeUnits(x.name, y.name));
  }

  get(name: string): { name: string; head: string | null } | null {
    const branches = this.vault().layers.branches;
    return branches.has(name) ? { name, head: branches.get(name)! } : null;
  }

  async create(name: string, fromLayer: string | null = null): Promise<void> {
    await this.host.mutate(() => [branchCreateOp(this.vault(), pendingFor(this.vault()), name, fromLayer)], false);
  }

  /** Moves a branch; with `expectedHead`, only if it still points there (ConflictError otherwise). */
  async update(name: string, head: string | null, expectedHead?: string | null): Promise<void> {
    await this.host.mutate(() => [branchUpdateOp(this.vault(), pendingFor(this.vault()), name, head, expectedHead)], false);
  }

  async delete(name: string, options: { force?: boolean } = {}): Promise<void> {
    await this.host.mutate(() => [branchDeleteOp(this.vault(), pendingFor(this.vault()), name, options.force ?? false)], false);
  }
}

export interface TraceEntry {
  key: string;
  at: Date;
  bytes: number;
  links: { records: string[]; layers: string[] };
  trace?: unknown;
}

export class Traces {
  /** @internal */
  constructor(
    private readonly host: VaultHost,
    private readonly vault: VaultOf,
  ) {}

  /** Stores a completed trace under `key` (replacing one with the same key). */
  async put(key: string, trace: unknown, options: TraceOptions = {}): Promise<void> {
    checkOptionTypes(options, TRACE_PUT_OPTIONS);
    await this.host.mutate(() => [tracePutOp(this.vault(), key, trace, options, this.host.maxPayloadBytes())], false);
  }

  get(key: string): (TraceEntry & { trace: unknown }) | null {
    const t = this.vault().traces.get(checkId(key, 'key'));
    return t ? { key: t.key, at: new Date(t.at), bytes: t.bytes.byteLength, links: copy(t.links), trace: decode(t.bytes) } : null;
  }

  /** Traces in time order (then key), filtered; `withTrace` includes each body. */
  list(options: { prefix?: string; since?: Date | number; until?: Date | number; limit?: number; reverse?: boolean; withTrace?: boolean } = {}): TraceEntry[] {
    checkOptionTypes(options, TRACE_LIST_OPTIONS);
    const ms = (v: Date | number | undefined) => (v instanceof Date ? v.getTime() : v);
    const since = ms(options.since);
    const until = ms(options.until);
    let all = this.vault().traces.ordered().filter((t) => (options.prefix === undefined || t.key.startsWith(options.prefix)) && (since === undefined || t.at >= since) && (until === undefined || t.at < until));
    if (options.reverse) all = [...all].reverse();
    if (options.limit !== undefined) all = all.slice(0, options.limit);
    return all.map((t) => ({ key: t.key, at: new Date(t.at), bytes: t.bytes.byteLength, links: copy(t.links), ...(options.withTrace ? { trace: decode(t.bytes) } : {}) }));
  }

  async delete(key: string): Promise<boolean> {
    let existed = false;
    await this.host.mutate(() => {
      const k = checkId(key, 'key');
      existed = this.vault().traces.get(k) !== undefined;
      return existed ? [{ type: 'traceDelete', vault: this.vault().number, key: k }] : [];
    }, false);
    return existed;
  }

  count(): number {
    return this.vault().traces.count;
  }

  get retention(): Retention {
    return { ...this.vault().traces.retention };
  }

  /** Sets the vault's retention; it is enforced at checkpoint and compaction, oldest first. */
  async setRetention(retention: Retention): Promise<void> {
    await this.host.mutate(() => [{ type: 'retentionSet', vault: this.vault().number, retention: checkRetention(retention) }], false);
  }
}
