import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { quiver } from '../helpers/cli.js';
import { dbPath, fingerprint, tmpDir } from '../helpers/tmp.js';

/** A database with the built-in embedder and a folder of files to add. */
async function setup(files: Record<string, string>): Promise<{ db: string; root: string }> {
  const db = dbPath();
  assert.equal((await quiver('init', db, '--embedder', 'local')).code, 0);
  const root = tmpDir('quiver-add-');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return { db, root };
}

const LICENSE_A = 'Permission is hereby granted, free of charge, to any person obtaining a copy of this software.';
const LICENSE_B = 'Licensed under the Apache License, Version 2.0; you may not use this file except in compliance.';

describe('quiver add', () => {
  it('names documents by their path relative to the common parent (or --base): a/LICENSE and b/LICENSE are two', async () => {
    const { db, root } = await setup({ 'a/LICENSE': LICENSE_A, 'b/LICENSE': LICENSE_B });
    const r = await quiver('add', db, '--vault', 'docs', path.join(root, 'a/LICENSE'), path.join(root, 'b/LICENSE'), '--json');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(r.json().files.map((f: { id: string }) => f.id), ['a/LICENSE', 'b/LICENSE']);
    const based = await quiver('add', db, '--vault', 'based', '--base', root, path.join(root, 'a/LICENSE'), '--json');
    assert.deepEqual(based.json().files.map((f: { id: string }) => f.id), ['a/LICENSE'], '--base keeps the folder in the id');
    const reader = await open(db, { readOnly: true });
    const docs = reader.vault('docs');
    assert.deepEqual(docs.ids().sort(), ['a/LICENSE#0', 'b/LICENSE#0']);
    assert.equal(docs.get('a/LICENSE#0')!.document!.text, LICENSE_A.replace(/\.$/, ''), 'chunks end on a word');
    assert.equal(docs.get('b/LICENSE#0')!.document!.text, LICENSE_B.replace(/\.$/, ''));
    assert.deepEqual(docs.get('b/LICENSE#0')!.payload, { file: path.join(root, 'b/LICENSE'), path: 'b/LICENSE' });
    await reader.close();
    const outside = await quiver('add', db, '--vault', 'docs', '--base', path.join(root, 'a'), path.join(root, 'b/LICENSE'));
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /b\/LICENSE is not inside --base/);
  });

  it('a collision is refused before anything is written', async () => {
    const { db, root } = await setup({ 'a/x.txt': LICENSE_A });
    const before = fingerprint(db);
    const r = await quiver('add', db, '--vault', 'docs', path.join(root, 'a/x.txt'), `${root}/a/../a/x.txt`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ValidationError INVALID_ARGUMENT: files: .*a\/x\.txt and .*a\/\.\.\/a\/x\.txt would both be document "x\.txt"; nothing was written/);
    assert.deepEqual(fingerprint(db), before);
  });

  it('an empty or unreadable file is named in the error and nothing of the run is written', async () => {
    const { db, root } = await setup({ 'good.txt': LICENSE_A, 'empty.txt': '', 'blank.txt': ' \n\t ' });
    const before = fingerprint(db);
    const empty = await quiver('add', db, '--vault', 'docs', path.join(root, 'good.txt'), path.join(root, 'empty.txt'));
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /files: .*empty\.txt is empty; nothing was written/);
    const blank = await quiver('add', db, '--vault', 'docs', path.join(root, 'good.txt'), path.join(root, 'blank.txt'), '--json');
    assert.match(blank.json().error.message, /blank\.txt has no words/);
    const missing = await quiver('add', db, '--vault', 'docs', path.join(root, 'good.txt'), path.join(root, 'missing.txt'), '--json');
    assert.equal(missing.code, 1);
    assert.deepEqual([missing.json().error.code, missing.json().error.path], ['IO_ERROR', path.join(root, 'missing.txt')]);
    assert.match(missing.json().error.message, /reading .*missing\.txt failed \(ENOENT\)/);
    const folder = await quiver('add', db, '--vault', 'docs', path.join(root, 'good.txt'), root, '--base', path.dirname(root), '--json');
    assert.match(folder.json().error.message, /EISDIR/);
    assert.deepEqual(fingerprint(db), before, 'not even the vault was created');
  });

  it('commits every file in one batch (one log record), and re-adding a shorter file removes its stale chunks in it', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `Sentence ${i} is about rivers and valleys.`).join(' ');
    const { db, root } = await setup({ 'one.txt': long, 'two.txt': LICENSE_A, 'three.txt': LICENSE_B });
    const files = ['one.txt', 'two.txt', 'three.txt'].map((f) => path.join(root, f));
    const first = await quiver('add', db, '--vault', 'docs', '--chunk-size', '300', '--overlap', '50', ...files, '--json');
    assert.equal(first.code, 0, first.stderr);
    const chunks = first.json().files[0].chunks as number;
    assert.ok(chunks > 3);
    const replayed = () => open(db, { readOnly: true }).then(async (r) => [r.stats().recovery!.replayedRecords, r.vault('docs').ids().length, await r.close()][0]! as number);
    assert.equal(await replayed(), 2, 'vault create + one batch for three files');
    fs.writeFileSync(files[0]!, 'Now only one short sentence about rivers.');
    const again = await quiver('add', db, '--vault', 'docs', '--chunk-size', '300', '--overlap', '50', ...files, '--json');
    assert.equal(again.json().files[0].removed, chunks - 1);
    assert.equal(await replayed(), 3, 'the re-add, stale chunks included, is one more batch');
    const reader = await open(db, { readOnly: true });
    assert.deepEqual(reader.vault('docs').ids().filter((id) => id.startsWith('one.txt#')), ['one.txt#0']);
    await reader.close();
  });
});
