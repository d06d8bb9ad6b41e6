import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open, ValidationError } from '../../src/index.js';
import { queryAcronyms } from '../../src/text/acronyms.js';
import { dbPath } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

// Two shells: one document names "GNU" and "shell", as the query does; the other is the Bourne
// Again SHell, named by its acronym only, as such documents are.
const DOCS = [
  { id: 'dash', text: 'A small POSIX shell from the GNU family of tools, quick to start.' },
  { id: 'bash', text: 'Bash is a command language interpreter. Bash reads commands from a shell script or the terminal.' },
  { id: 'grep', text: 'grep searches files for lines matching a regular expression.' },
  { id: 'tar', text: 'tar stores many files in one archive and extracts them again later.' },
  { id: 'icu', text: 'ICU offers locale data, collation and text boundaries for programs.' },
];
const QUERY = 'GNU Bourne Again SHell';

async function shells(dir?: string) {
  const db = await open(dir, { embedder: 'local' });
  const v = await db.createVault('kb');
  await v.addDocuments(DOCS);
  return { db, v };
}

describe('query acronyms in hybrid search', () => {
  it('queryAcronyms: the capitals of runs of capitalised words, stop words inside skipped, 3 letters or more', () => {
    assert.ok(queryAcronyms(QUERY).includes('bash'), String(queryAcronyms(QUERY)));
    assert.ok(queryAcronyms('GNU Privacy Guard - S/MIME version').includes('gnupg'));
    assert.deepEqual(queryAcronyms('Development utilities for International Components for Unicode'), ['icu']);
    assert.deepEqual(queryAcronyms('Universally Unique ID library'), ['uuid', 'uid'], 'every run start');
    assert.deepEqual(queryAcronyms('gnu bourne again shell'), [], 'a lower-case query spells nothing');
    assert.deepEqual(queryAcronyms('Bash'), [], 'one word is not an acronym');
    assert.deepEqual(queryAcronyms('Big Ox'), [], 'under 3 letters');
    assert.deepEqual(queryAcronyms('X C Binding, dri3 extension'), ['xcb'], 'a lower-case word ends the run');
  });

  it('the acronym finds the document that names only it; acronyms: false and text mode are plain BM25', async () => {
    const { db, v } = await shells();
    const ids = async (o: object) => (await v.search(QUERY, { k: 5, ...o })).map((h) => h.id);
    assert.deepEqual((await ids({})).slice(0, 2), ['bash', 'dash']);
    assert.equal((await ids({ acronyms: false }))[0], 'dash', 'by words alone "GNU ... shell" wins');
    assert.deepEqual(await ids({ mode: 'text' }), ['dash', 'tar', 'bash'], 'text mode stays BM25 over the query\'s words ("again" in tar)');
    // Both text scores of weighted fusion, the chunk's BM25 and its document's, count the acronym.
    const bash = async (o: object) => (await v.search(QUERY, { k: 5, ...o })).find((h) => h.id === 'bash')!.scores!;
    const [on, off] = [await bash({}), await bash({ acronyms: false })];
    assert.ok(on.text! > off.text! && on.document! > off.document!, JSON.stringify({ on, off }));
    await assert.rejects(v.search(QUERY, { acronyms: 'yes' as unknown as boolean }), ValidationError);
    await db.close();
  });

  it('quiver search --no-acronyms turns it off', async () => {
    const dir = dbPath();
    const { db } = await shells(dir);
    await db.close();
    const top = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'search', dir, '--vault', 'kb', '--text', QUERY, '-k', '1', '--json', ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout)[0].id;
    };
    assert.equal(top(), 'bash');
    assert.equal(top('--no-acronyms'), 'dash');
  });
});
