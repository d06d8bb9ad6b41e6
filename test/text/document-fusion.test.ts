import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open, ValidationError } from '../../src/index.js';
import { TextIndex } from '../../src/text/text-index.js';
import { dbPath } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9;
const docOf = (id: string) => id.split('#')[0]!;

// A field guide whose two chunks each hold half of the query, and a short note holding two of
// its words, repeated: chunk by chunk the note wins; as documents the guide holds every word.
const GUIDE = [
  'The kestrel hovers over meadows and its nesting season starts in early spring on cliffs.',
  'Each autumn the peregrine falcon begins a long migration south along the coast.',
];
const NOTE = 'kestrel kestrel kestrel falcon falcon: a list of birds seen from the window today';
const QUERY = 'kestrel nesting falcon migration';

async function birds(dir?: string) {
  const db = await open(dir, { embedder: 'local' });
  const v = await db.createVault('kb');
  let at = 0;
  await v.addDocuments([
    ...GUIDE.map((text, index) => {
      const chunk = { docId: 'guide', index, start: at, end: (at += text.length + 1) - 1 };
      return { id: `guide#${index}`, text, chunk, payload: { part: index } };
    }),
    { id: 'note', text: NOTE, payload: { part: 0 } },
  ]);
  return { db, v };
}

describe('document-level BM25 in hybrid fusion', () => {
  it('scoreDocuments sums a document\'s chunks: hand-computed BM25 over documents, idf over documents, kept after removes and reloads', () => {
    const index = new TextIndex();
    index.add('a#0', 'apple banana', null, 'a');
    index.add('a#1', 'cherry', null, 'a');
    index.add('b', 'apple cherry cherry', null);
    // Two documents of 3 terms each (avg 3). idf(banana) = ln(1 + 1.5 / 1.5) = ln 2, idf(cherry) = ln(1 + 0.5 / 2.5) = ln 1.2.
    const s = index.scoreDocuments('banana cherry', docOf, null);
    assert.ok(close(s.get('a'), Math.log(2) + Math.log(1.2)), String(s.get('a'))); // tf 1 each, length = avg: 2.2 / 2.2
    assert.ok(close(s.get('b'), Math.log(1.2) * (2 * 2.2) / (2 + 1.2)), String(s.get('b')));
    assert.equal(s.size, 2);
    // A record `keep` refuses lends no terms; idf still counts the documents holding the term.
    const kept = index.scoreDocuments('banana cherry', docOf, (id) => id !== 'a#0');
    assert.ok(close(kept.get('a'), Math.log(1.2)), String(kept.get('a')));
    // Loaded from its persisted form (no documents recorded): rebuilt from docOf, same scores.
    const loaded = TextIndex.load(index.dump());
    assert.deepEqual(loaded.scoreDocuments('banana cherry', docOf, null), s);
    // Removing a chunk shortens its document (a: 1 term now, avg 2); removing the last one drops it.
    index.remove('a#0', 'apple banana');
    const after = index.scoreDocuments('cherry', docOf, null);
    assert.ok(close(after.get('a'), Math.log(1.2) * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 1 / 2))), String(after.get('a')));
    index.remove('a#1', 'cherry');
    assert.deepEqual([...index.scoreDocuments('cherry', docOf, null).keys()], ['b']);
  });

  it('a document holding every query word across its chunks outranks one chunk holding two of them, through its best chunk alone; documentWeight 0 is the old order', async () => {
    const { db, v } = await birds();
    const byDoc = async (o: object) => (await v.search(QUERY, { k: 2, groupBy: '$doc', ...o })).map((h) => String(h.groupKey));
    assert.deepEqual(await byDoc({ documentWeight: 0 }), ['note', 'guide'], 'chunk BM25 alone prefers the note');
    assert.deepEqual(await byDoc({}), ['guide', 'note']);
    // Ungrouped, the document's BM25 lifts its best chunk only: its other chunk stays below the note.
    assert.deepEqual((await v.search(QUERY, { k: 3 })).map((h) => h.id), ['guide#0', 'note', 'guide#1']);
    const [top] = await v.search(QUERY, { k: 1 });
    assert.ok(top!.scores!.document! > top!.scores!.text!, 'the hit carries its document\'s BM25, above its own');
    assert.equal((await v.search(QUERY, { k: 1, documentWeight: 0 }))[0]!.scores!.document, undefined);
    assert.equal((await v.search(QUERY, { k: 1, fusion: 'rrf' }))[0]!.scores!.document, undefined, 'rrf reads ranks only');
    // A filter's hidden chunks lend nothing to their document.
    const seen = await v.search(QUERY, { k: 3, filter: { part: 0 } });
    const g = seen.find((h) => h.id === 'guide#0')!;
    assert.ok(g.scores!.document! < top!.scores!.document!, 'guide#1 hidden: the guide scores less');
    await assert.rejects(v.search(QUERY, { documentWeight: 1.5 }), ValidationError);
    await assert.rejects(v.search(QUERY, { documentWeight: Number.NaN }), ValidationError);
    await db.close();
  });

  it('reopened from a checkpoint (documents rebuilt) and through quiver search --document-weight, the same ranking', async () => {
    const dir = dbPath();
    const { db, v } = await birds(dir);
    const before = await v.search(QUERY, { k: 3 });
    await db.checkpoint();
    await db.close();
    const again = await open(dir, { readOnly: true });
    // Vector scores move in the last float32 digit across a reopen; ranks, BM25 and document BM25 do not.
    const shape = (hits: typeof before) => hits.map((h) => [h.id, h.ranks, h.scores!.text, h.scores!.document]);
    assert.deepEqual(shape(await again.vault('kb').search(QUERY, { k: 3 })), shape(before));
    assert.equal(again.stats().vaults[0]!.text.tokenized, 0, 'loaded, not re-tokenised');
    await again.close();
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'search', dir, '--vault', 'kb', '--text', QUERY, '-k', '1', '--group-by', '$doc', '--json', ...args], { encoding: 'utf8' });
    const top = (...args: string[]) => {
      const r = run(...args);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout)[0].groupKey;
    };
    assert.equal(top(), 'guide');
    assert.equal(top('--document-weight', '0'), 'note');
    const bad = run('--document-weight', '2');
    assert.equal(bad.status, 1, 'a typed error, as for --text-weight 2');
    assert.equal(JSON.parse(bad.stdout).error.field, 'documentWeight');
  });
});
