import type { MetadataFilter, MetadataFilters } from '@llamaindex/core/vector-store';
import { ValidationError } from '../errors.js';
import type { Filter } from '../vault/filter.js';

/** LlamaIndex metadata filters as a quiverdb filter (README "LlamaIndex.TS: quiverdb/llamaindex"). */
export function translateMetadataFilters(filters: MetadataFilters | undefined): Filter | undefined {
  if (filters === undefined || filters === null || filters.filters.length === 0) return undefined;
  const parts = filters.filters.map((f, i) => one(f, `filters.filters[${i}]`));
  if (parts.length === 1) return parts[0];
  const condition = filters.condition ?? 'and';
  if (condition !== 'and' && condition !== 'or') throw new ValidationError('filters.condition', "must be 'and' or 'or'");
  return { [condition === 'and' ? '$and' : '$or']: parts };
}

function one(f: MetadataFilter, at: string): Filter {
  if (typeof f?.key !== 'string' || f.key.length === 0 || f.key.startsWith('$')) throw new ValidationError(`${at}.key`, 'must be a metadata key');
  const { key, value } = f;
  const array = (): (string | number)[] => {
    if (!Array.isArray(value)) throw new ValidationError(`${at}.value`, `operator ${f.operator} takes an array`);
    return value;
  };
  switch (f.operator) {
    case '==':
    case 'contains': // an array field matches when any element equals the value
      return { [key]: value };
    case '!=': return { [key]: { $ne: value } };
    case '>': return { [key]: { $gt: value } };
    case '>=': return { [key]: { $gte: value } };
    case '<': return { [key]: { $lt: value } };
    case '<=': return { [key]: { $lte: value } };
    case 'in':
    case 'any':
      return { [key]: { $in: array() } };
    case 'nin': return { [key]: { $nin: array() } };
    case 'all': return { [key]: { $all: array() } };
    case 'is_empty': return { $or: [{ [key]: { $exists: false } }, { [key]: null }, { [key]: { $size: 0 } }] };
    default:
      throw new ValidationError(`${at}.operator`, `${String(f.operator)} is not supported by quiverdb (text_match has no payload equivalent; use mode 'sparse' for text)`);
  }
}
