import assert from 'node:assert/strict';
import { test } from 'node:test';
import { route, routeTable } from '../../src/server/router.js';

const h = () => null;
const table = routeTable([
  route('GET', '/collections/:name', h),
  route('GET', '/collections/:name/exists', h),
  route('POST', '/collections/:name/points/search', h),
  route('POST', '/collections/:name/points/search/batch', h),
  route('POST', '/collections/:name/points/:id', h),
]);
const match = (method: string, path: string) => {
  const m = table(method, path);
  return m && { pattern: m.route.segments.join('/'), params: m.params };
};

test('routes match by method, segment count and literal segments, in table order', () => {
  // search is also a valid :id; the literal route comes first in the table, so it wins.
  assert.deepEqual(match('POST', '/collections/bench/points/search'), { pattern: 'collections/:name/points/search', params: { name: 'bench' } });
  assert.deepEqual(match('POST', '/collections/bench/points/search/batch'), { pattern: 'collections/:name/points/search/batch', params: { name: 'bench' } });
  assert.deepEqual(match('POST', '/collections/a/points/7'), { pattern: 'collections/:name/points/:id', params: { name: 'a', id: '7' } });
  assert.equal(match('GET', '/collections/bench/points/search'), null, 'wrong method');
  assert.equal(match('POST', '/collections/bench/points/search/batch/more'), null, 'too many segments');
  assert.equal(match('GET', '/'), null);
});

test('empty segments are ignored and captures are percent-decoded; a bad escape matches nothing', () => {
  assert.deepEqual(match('GET', '//collections//my%20vault/'), { pattern: 'collections/:name', params: { name: 'my vault' } });
  assert.deepEqual(match('GET', '/collections/a%2Fb/exists'), { pattern: 'collections/:name/exists', params: { name: 'a/b' } });
  assert.equal(match('GET', '/collections/%E0%A4%A'), null);
});
