import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function quiver(...args: string[]): { code: number; stdout: string; stderr: string; json: () => any } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

describe('quiver get, scan, count, delete, patch and the search flags', () => {
  it('read beside a live writer, write when it is gone, with --json', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 3 });
    const v = await db.createVault('docs');
    await v.insertMany(Array.from({ length: 12 }, (_, i) => ({ id: `r${String(i).padStart(2, '0')}`, vector: [i + 1, 1, 0], payload: { tag: i % 2 ? 'odd' : 'even', n: i } })));
    // The writer stays open: reads run beside it.
    const get = quiver('get', dir, '--vault', 'docs', 'r01', 'nope', '--json');
    assert.equal(get.code, 1, 'a missing id is exit 1');
    assert.deepEqual(get.json()[0].vector, [2, 1, 0]);
    assert.equal(get.json()[1], null);
    const count = quiver('count', dir, '--vault', 'docs', '--filter', '{"tag":"odd"}', '--json');
    assert.equal(count.code, 0, count.stderr);
    assert.equal(count.json().count, 6);
    const lines = quiver('scan', dir, '--vault', 'docs', '--limit', '5', '--json').stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, 5).map((r) => r.id), ['r00', 'r01', 'r02', 'r03', 'r04']);
    assert.deepEqual(lines[5], { next: 'r04' });
    const page2 = quiver('scan', dir, '--vault', 'docs', '--limit', '50', '--after', 'r04', '--filter', '{"tag":"even"}', '--vectors', '--json').stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(page2.map((r) => r.id ?? r.next), ['r06', 'r08', 'r10', null]);
    assert.deepEqual(page2[0].vector, [7, 1, 0]);
    const grouped = quiver('search', dir, '--vault', 'docs', '--vector', '[1,1,0]', '-k', '2', '--group-by', 'tag', '--group-size', '2', '--vectors', '--json');
    assert.equal(grouped.code, 0, grouped.stderr);
    assert.deepEqual(grouped.json().map((h: { groupKey: string }) => h.groupKey), ['even', 'even', 'odd', 'odd']);
    assert.equal(grouped.json()[0].vector.length, 3);
    const cut = quiver('search', dir, '--vault', 'docs', '--vector', '[1,1,0]', '-k', '10', '--min-score', '0.95', '--json');
    assert.ok(cut.json().length >= 1 && cut.json().every((h: { score: number }) => h.score >= 0.95));
    assert.equal(quiver('search', dir, '--vault', 'docs', '--vector', '[1,1,0]', '-k', '3', '--mmr', '0.3', '--json').json().length, 3);
    await db.close();

    const patched = quiver('patch', dir, '--vault', 'docs', '--filter', '{"tag":"odd"}', '--set', '{"meta.seen":true}', '--unset', 'n', '--json');
    assert.equal(patched.code, 0, patched.stderr);
    assert.equal(patched.json().patched, 6);
    assert.equal(quiver('patch', dir, '--vault', 'docs', '--id', 'r00', '--set', '{"x":1}', '--json').json().patched, 1);
    assert.equal(quiver('patch', dir, '--vault', 'docs', '--id', 'nope', '--set', '{"x":1}').code, 1);
    assert.equal(quiver('patch', dir, '--vault', 'docs', '--set', '{"x":1}').code, 2, 'needs --id or --filter');
    assert.equal(quiver('delete', dir, '--vault', 'docs', '--filter', '{}').code, 1, '{} is refused');
    assert.equal(quiver('delete', dir, '--vault', 'docs', '--id', 'r00', 'r02', 'nope', '--json').json().deleted, 2);
    assert.equal(quiver('delete', dir, '--vault', 'docs', '--filter', '{"meta.seen":true}', '--json').json().deleted, 6);
    const after = await open(dir, { readOnly: true });
    assert.deepEqual(after.vault('docs').ids(), ['r04', 'r06', 'r08', 'r10']);
    await after.close();
    assert.equal(quiver('delete', dir, '--vault', 'docs', '--filter', '{}', '--all', '--json').json().deleted, 4);
  });
});
