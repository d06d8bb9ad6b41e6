import { NotFoundError, ValidationError } from '../errors.js';
import { norm, toVector } from '../format/vector.js';
import type { Payload } from '../vault/payload.js';
import { validatePayload } from '../vault/payload.js';
import { copyPayload, searchVault, type Hit, type SearchOptions } from '../vault/search.js';
import type { RecordInput, RecordOutput, Vault, VaultInfo } from '../vault/vault.js';
import type { VaultState } from '../vault/vault-state.js';
import type { Op } from '../wal/records.js';
import type { DbState } from './state.js';
import { checkId } from './validate.js';

/** What a vault handle needs from its database. */
export interface VaultHost {
  /** The state, after checking the database is open (throws otherwise). */
  readable(): DbState;
  maxPayloadBytes(): number;
  /** Runs `build` in the database's write order and logs and applies what it returns. */
  mutate(build: () => Op[], asBatch: boolean): Promise<number | null>;
}

/** Builds a validated insert op for the vault numbered `vault`. */
export function insertOp(state: DbState, vault: number, id: unknown, vector: unknown, payload: unknown, maxPayloadBytes: number, at = ''): Op {
  const checkedId = checkId(id, `${at}id`);
  const vec = toVector(vector, state.identity.dimension, `${at}vector`);
  if (state.identity.metric === 'cosine' && norm(vec) === 0) {
    throw new ValidationError(`${at}vector`, 'is all zeros; cosine similarity is undefined for it');
  }
  const p = validatePayload(payload, maxPayloadBytes);
  return { type: 'insert', vault, id: checkedId, vector: vec, payload: p.payload, payloadBytes: p.bytes };
}

export class VaultHandle implements Vault {
  constructor(
    private readonly host: VaultHost,
    private readonly number: number,
    readonly name: string,
  ) {}

  private state(): VaultState {
    const vault = this.host.readable().vaults.get(this.number);
    if (!vault) throw new NotFoundError('vault', `vault "${this.name}" does not exist (it was dropped)`);
    return vault;
  }

  async insert(id: string, vector: Float32Array | readonly number[], payload?: Payload | null): Promise<void> {
    await this.host.mutate(() => {
      this.state();
      return [insertOp(this.host.readable(), this.number, id, vector, payload, this.host.maxPayloadBytes())];
    }, false);
  }

  async insertMany(records: readonly RecordInput[]): Promise<void> {
    if (!Array.isArray(records)) throw new ValidationError('records', 'must be an array');
    await this.host.mutate(() => {
      this.state();
      const state = this.host.readable();
      return records.map((r, i) => {
        if (typeof r !== 'object' || r === null) throw new ValidationError(`records[${i}]`, 'must be an object');
        return insertOp(state, this.number, r.id, r.vector, r.payload, this.host.maxPayloadBytes(), `records[${i}].`);
      });
    }, true);
  }

  async erase(id: string): Promise<boolean> {
    let existed = false;
    await this.host.mutate(() => {
      const checked = checkId(id);
      existed = this.state().records.get(checked) !== undefined;
      return existed ? [{ type: 'erase', vault: this.number, id: checked }] : [];
    }, false);
    return existed;
  }

  get(id: string): RecordOutput | null {
    const record = this.state().records.get(checkId(id));
    if (!record) return null;
    return { id: record.id, vector: record.vector.slice(), payload: copyPayload(record.payloadBytes), lsn: record.lsn };
  }

  has(id: string): boolean {
    return this.state().records.get(checkId(id)) !== undefined;
  }

  count(): number {
    return this.state().records.count;
  }

  ids(): string[] {
    return [...this.state().records.values()].map((r) => r.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async search(query: Float32Array | readonly number[], options: SearchOptions = {}): Promise<Hit[]> {
    const vault = this.state();
    const identity = this.host.readable().identity;
    if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'must be an object');
    return searchVault(vault, identity.metric, toVector(query, identity.dimension, 'query'), options);
  }

  info(): VaultInfo {
    const vault = this.state();
    return { name: vault.name, number: vault.number, records: vault.records.count, bytes: vault.records.bytes, quota: { ...vault.quota } };
  }
}
