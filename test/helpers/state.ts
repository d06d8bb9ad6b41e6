import type { Database } from '../../src/index.js';

export type Dump = Record<string, [string, number[], unknown][]>;

/** Every vault's records (id, vector, payload), sorted: two equal dumps are the same logical state. */
export function dump(db: Database): Dump {
  const out: Dump = {};
  for (const info of db.vaults()) {
    const vault = db.vault(info.name);
    out[info.name] = vault.ids().map((id) => {
      const r = vault.get(id)!;
      return [id, Array.from(r.vector), r.payload];
    });
  }
  return out;
}
