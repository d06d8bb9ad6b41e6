import { ConflictError, NotFoundError } from '../errors.js';
import type { Vault, VaultInfo } from '../api/vault.js';
import { VaultHandle } from '../api/vault-handle.js';
import type { VaultHost } from '../api/vault-host.js';
import { checkVaultName } from '../vault/names.js';
import { checkOptionTypes, VAULT_OPTIONS } from './ops/option-types.js';
import { checkQuota } from './ops/validate.js';
import { byCodeUnits } from '../util/code-units.js';

/** A database's vaults by name, and one handle per vault (db.createVault, db.vault, db.vaults). */
export class VaultRegistry {
  private readonly handles = new Map<number, VaultHandle>();

  constructor(private readonly host: VaultHost) {}

  async create(name: string, options: { quota?: { maxRecords?: number; maxBytes?: number } } = {}): Promise<Vault> {
    let number = 0;
    checkOptionTypes(options, VAULT_OPTIONS, { closed: true });
    await this.host.mutate(() => {
      const state = this.host.readable();
      checkVaultName(name);
      const quota = checkQuota(options?.quota);
      if (state.names.has(name)) throw new ConflictError('ALREADY_EXISTS', `vault "${name}" already exists`);
      number = state.nextVaultNumber;
      return [{ type: 'vaultCreate', vault: number, name, quota }];
    }, false);
    // The vault this call created, even if a write called after it has dropped it by now.
    return this.handle(number, name);
  }

  async drop(name: string): Promise<void> {
    await this.host.mutate(() => [{ type: 'vaultDrop', vault: this.number(name) }], false);
  }

  get(name: string): Vault {
    return this.handle(this.number(name), name);
  }

  has(name: string): boolean {
    return this.host.readable().names.has(name);
  }

  list(): VaultInfo[] {
    return [...this.host.readable().vaults.values()]
      .sort((a, b) => byCodeUnits(a.name, b.name))
      .map((v) => v.info());
  }

  /** The number of the vault named `name` (NotFoundError when there is none). */
  number(name: string): number {
    checkVaultName(name, 'vault');
    const number = this.host.readable().names.get(name);
    if (number === undefined) throw new NotFoundError('vault', `vault "${name}" does not exist`);
    return number;
  }

  private handle(number: number, name: string): Vault {
    let handle = this.handles.get(number);
    if (!handle) {
      handle = new VaultHandle(this.host, number, name);
      this.handles.set(number, handle);
    }
    return handle;
  }
}
