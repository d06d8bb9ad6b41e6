/**
 * Every public option object is type-checked: a wrong type is refused naming the option
 * (ConfigError for open, ValidationError for calls), never read as truthy or ignored. And a
 * zero query vector under cosine is refused, as a zero stored vector is.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { open, ConfigError, ValidationError, type OpenOptions } from '../../src/index.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

const invalid = (field: string) => (err: unknown) => err instanceof ValidationError && err.field === field;
const config = (field: string) => (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_INVALID' && err.field === field;

describe('option types', () => {
  it('open options of the wrong type raise ConfigError naming the option', async () => {
    const dir = dbPath();
    for (const [field, options] of [
      ['create', { dimension: 2, create: 'no' }],
      ['readOnly', { dimension: 2, readOnly: 1 }],
      ['dimension', { dimension: '2' }],
      ['durability', { dimension: 2, durability: 5 }],
      ['maxPayloadBytes', { dimension: 2, maxPayloadBytes: '1' }],
      ['fs', { dimension: 2, fs: 'node' }],
      ['options', null],
    ] as const) {
      await assert.rejects(open(dir, options as unknown as OpenOptions), config(field), field);
      await assert.rejects(open(undefined, options as unknown as OpenOptions), config(field), `${field} (in memory)`);
    }
  });

  it('search, vault, text, trace and progress options of the wrong type raise ValidationError', async () => {
    const db = await open(undefined, { dimension: 2, metric: 'cosine' });
    const v = await db.createVault('v');
    await v.insert('a', [1, 0]);
    const s = (o: unknown) => v.search([1, 0], o as never);
    await assert.rejects(s({ exact: 'yes' }), invalid('exact'));
    await assert.rejects(s({ exact: 1 }), invalid('exact'));
    await assert.rejects(s({ k: '5' }), invalid('k'));
    await assert.rejects(s({ filter: 'tag' }), invalid('filter'));
    await assert.rejects(s({ bm25: { k1: '1' } }), invalid('bm25.k1'));
    await assert.rejects(s({ bm25: 3 }), invalid('bm25'));
    await assert.rejects(s({ textFloor: '0.1' }), invalid('textFloor'));
    assert.equal((await s({ exact: true, k: 1 })).length, 1);
    await assert.rejects(db.createVault('w', { quotas: { maxRecords: 1 } } as never), invalid('quotas'));
    await assert.rejects(db.createVault('w', 'big' as never), invalid('options'));
    assert.equal(db.hasVault('w'), false);
    await assert.rejects(v.traces.put('t', { x: 1 }, { at: 'yesterday' } as never), invalid('at'));
    assert.throws(() => v.traces.list({ limit: '3' } as never), invalid('limit'));
    assert.throws(() => v.traces.list({ reverse: 'yes' } as never), invalid('reverse'));
    await assert.rejects(db.export(path.join(tmpDir(), 'e'), { onProgress: 1 } as never), invalid('onProgress'));
    await db.close();
  });

  it('a zero query vector under cosine is refused; under l2 it is a query like any other', async () => {
    const db = await open(undefined, { dimension: 2, metric: 'cosine' });
    const v = await db.createVault('v');
    await v.insert('a', [1, 0]);
    await assert.rejects(v.search([0, 0]), invalid('query'));
    await assert.rejects(v.search(new Float32Array(2), { exact: true }), invalid('query'));
    await db.close();
    const l2 = await open(undefined, { dimension: 2, metric: 'l2' });
    const w = await l2.createVault('v');
    await w.insert('a', [1, 0]);
    assert.equal((await w.search([0, 0]))[0]?.id, 'a');
    await l2.close();
  });
});

describe('the everyday search options are type-checked too', () => {
  it('withVectors, minScore, maxDistance, groupBy and groupSize of the wrong type are refused naming the option', async () => {
    const openDb = open;
    const VE = ValidationError;
    const db = await openDb(undefined, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insert('a', [1, 0]);
    for (const [key, value] of [['withVectors', 'yes'], ['minScore', '0.5'], ['maxDistance', 'far'], ['groupBy', 3], ['groupSize', 1.5]] as const) {
      await assert.rejects(v.search([1, 0], { [key]: value } as never), (err: unknown) => err instanceof VE && (err as InstanceType<typeof VE>).field.includes(key), key);
    }
    await db.close();
  });
});
