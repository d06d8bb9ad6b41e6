import { ConfigError, ValidationError } from '../../errors.js';

/**
 * Type checks for the public option objects, so `exact: 'yes'` or `readOnly: 'no'` is refused
 * naming the option instead of being read as truthy. Each option's value rules (ranges, enums)
 * stay with the code that uses it; this only checks that what is given has the right type.
 * Open options raise ConfigError (CONFIG_INVALID); call options raise ValidationError.
 */
export type OptionType = 'boolean' | 'integer' | 'number' | 'string' | 'object' | 'function' | 'time' | 'any';

export type OptionSchema = Readonly<Record<string, OptionType>>;

function typeOk(value: unknown, type: OptionType): boolean {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'function':
      return typeof value === 'function';
    case 'time':
      return value instanceof Date ? Number.isFinite(value.getTime()) : typeof value === 'number' && Number.isFinite(value);
    case 'any':
      return true;
  }
}

const DESCRIBE: Record<OptionType, string> = {
  boolean: 'a boolean',
  integer: 'an integer',
  number: 'a finite number',
  string: 'a string',
  object: 'an object',
  function: 'a function',
  time: 'a Date or a finite number of ms',
  any: 'anything',
};

/**
 * Checks `options` (undefined is an empty object) against `schema`: it must be an object, each
 * key the schema names must be undefined or of its type, and (when `closed`) no other key may
 * appear. Returns the options for chaining.
 */
export function checkOptionTypes<T>(options: T, schema: OptionSchema, { at = 'options', closed = false, config = false } = {}): T {
  const fail = (field: string, message: string): never => {
    if (config) throw new ConfigError('CONFIG_INVALID', field, `${field}: ${message}`);
    throw new ValidationError(field, message);
  };
  if (options === undefined) return options;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail(at, 'must be an object');
  const prefix = at === 'options' ? '' : `${at}.`;
  for (const [key, value] of Object.entries(options as object)) {
    const type = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (type === undefined) {
      if (closed) fail(`${prefix}${key}`, 'unknown option');
      continue;
    }
    if (value !== undefined && !typeOk(value, type)) fail(`${prefix}${key}`, `must be ${DESCRIBE[type]}, got ${JSON.stringify(value) ?? typeof value}`);
  }
  return options;
}

/** open(path, options): every option (closed: unknown keys are refused). */
export const OPEN_OPTIONS: OptionSchema = {
  dimension: 'integer',
  embedder: 'any',
  metric: 'string',
  index: 'any',
  storage: 'string',
  durability: 'string',
  recovery: 'string',
  autoCheckpointBytes: 'integer',
  maxPayloadBytes: 'integer',
  lockTimeoutMs: 'integer',
  lockStaleMs: 'integer',
  create: 'boolean',
  readOnly: 'boolean',
  refreshIntervalMs: 'integer',
  fs: 'object',
  verify: 'string',
};

/** vault.search(query, options). Open: options other helpers add are checked where they are used. */
export const SEARCH_OPTIONS: OptionSchema = {
  k: 'integer',
  ef: 'integer',
  filter: 'object',
  exact: 'boolean',
  mode: 'string',
  bm25: 'object',
  fusion: 'any',
  rrfK: 'integer',
  candidates: 'integer',
  textFloor: 'number',
  documentWeight: 'number',
  acronyms: 'boolean',
  withVectors: 'boolean',
  minScore: 'number',
  maxDistance: 'number',
  mmr: 'any', // true or { lambda, fetchK }: search-knobs.ts checks the shape
  groupBy: 'string',
  groupSize: 'integer',
};

export const BM25_OPTIONS: OptionSchema = { k1: 'number', b: 'number' };

/** db.createVault(name, options). */
export const VAULT_OPTIONS: OptionSchema = { quota: 'any' }; // checkQuota checks it (null allowed)

/** addText(docId, text, options). */
export const CHUNK_OPTIONS: OptionSchema = { size: 'integer', overlap: 'integer', payload: 'any' };

/** addDocuments(docs, options). */
export const ADD_DOCUMENTS_OPTIONS: OptionSchema = { erase: 'any' }; // checkEraseIds checks the ids

/** export / import / reembed: progress callbacks. */
export const PROGRESS_OPTIONS: OptionSchema = { onProgress: 'function' };

/** traces.list(options). */
export const TRACE_LIST_OPTIONS: OptionSchema = { prefix: 'string', since: 'time', until: 'time', limit: 'integer', reverse: 'boolean', withTrace: 'boolean' };

/** traces.put(key, trace, options). */
export const TRACE_PUT_OPTIONS: OptionSchema = { at: 'time', links: 'object' };
