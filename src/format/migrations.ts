import { SchemaError } from '../errors.js';
import { FORMAT_VERSION } from './constants.js';

/**
 * Migrations from older format versions (FORMAT.md "Versions"). Each one upgrades a closed
 * database directory (writer lock held, no live reader) from `from` to `from + 1` and must be
 * crash-safe on its own. The registry is empty: version 1 is the first format.
 */
export interface Migration {
  from: number;
  describe: string;
  run(dir: string): Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [];

/** The ordered migrations that take `found` to FORMAT_VERSION, or SchemaError. */
export function planMigrations(found: number, registry: readonly Migration[] = MIGRATIONS, target = FORMAT_VERSION): Migration[] {
  if (found > target) {
    throw new SchemaError('SCHEMA_TOO_NEW', `database format version ${found} is newer than this build supports (${target}); upgrade quiverdb`, found, target);
  }
  const plan: Migration[] = [];
  for (let v = found; v < target; v++) {
    const step = registry.find((m) => m.from === v);
    if (!step) {
      throw new SchemaError('SCHEMA_MIGRATION_MISSING', `no migration from format version ${v} to ${v + 1}`, found, target);
    }
    plan.push(step);
  }
  return plan;
}
