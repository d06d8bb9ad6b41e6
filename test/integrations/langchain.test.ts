import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Document } from '@langchain/core/documents';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { FakeEmbeddings, SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { ConfigError, open } from '../../src/index.js';
import { QuiverLocalEmbeddings, QuiverVectorStore } from '../../src/integrations/langchain.js';
import { dbPath } from '../helpers/tmp.js';

const TEXTS = [
  'the cat purrs on the warm windowsill',
  'a kitten chases a ball of yarn',
  'the dog barks at the mailman',
  'stock markets fell sharply on monday',
  'investors sold shares as prices dropped',
];
const META = [{ topic: 'pets', n: 1 }, { topic: 'pets', n: 2 }, { topic: 'pets', n: 3 }, { topic: 'money', n: 4 }, { topic: 'money', n: 5 }];

test('QuiverLocalEmbeddings: fromTexts, similaritySearch, filter, MMR, delete by ids and by filter, a retriever in a RunnableSequence, reopen', async () => {
  const path = dbPath();
  const embeddings = new QuiverLocalEmbeddings();
  const store = await QuiverVectorStore.fromTexts(TEXTS, META, embeddings, { path, vault: 'docs' });

  const [best] = await store.similaritySearch('a kitten with yarn', 1);
  assert.equal(best!.pageContent, TEXTS[1]);
  assert.equal(best!.metadata.topic, 'pets');
  assert.ok(best!.id, 'documents come back with their ids');

  const money = await store.similaritySearchWithScore('kittens and cats', 5, { topic: 'money' });
  assert.equal(money.length, 2);
  assert.ok(money.every(([d, score]) => d.metadata.topic === 'money' && typeof score === 'number'));

  // The records are quiverdb documents: text and metadata, searchable with BM25 too.
  const vault = await store.vault();
  const bm25 = await vault.search('mailman', { mode: 'text', k: 1 });
  assert.equal(bm25[0]!.document!.text, TEXTS[2]);
  assert.equal(bm25[0]!.payload!.topic, 'pets');

  // Native MMR: two near-copies, then MMR prefers the different record over the second copy.
  const copies = await store.addDocuments([
    new Document({ pageContent: 'stock markets fell sharply on monday morning', metadata: { topic: 'money', n: 6 } }),
  ]);
  assert.equal(copies.length, 1);
  const plain = await store.similaritySearch('stock markets fell sharply', 2);
  assert.ok(plain.every((d) => d.pageContent.startsWith('stock markets')), 'the two copies are the nearest');
  const diverse = await store.maxMarginalRelevanceSearch('stock markets fell sharply', { k: 2, fetchK: 6, lambda: 0.3 });
  assert.equal(diverse.length, 2);
  assert.ok(diverse.some((d) => !d.pageContent.startsWith('stock markets')), `MMR diversifies: ${diverse.map((d) => d.pageContent)}`);

  const retriever = store.asRetriever({ k: 2, searchType: 'mmr', searchKwargs: { fetchK: 6, lambda: 0.3 } });
  assert.equal((await retriever.invoke('stock markets fell sharply')).length, 2);

  // A retriever inside a RunnableSequence.
  const chain = RunnableSequence.from([store.asRetriever(1), RunnableLambda.from((docs: Document[]) => docs.map((d) => d.pageContent).join('\n'))]);
  assert.match(await chain.invoke('the dog barks'), /dog barks/);

  // delete by ids and by a quiverdb filter.
  const ids = vault.ids();
  assert.equal(ids.length, 6);
  await store.delete({ ids: [copies[0]!] });
  assert.equal(vault.count(), 5);
  await store.delete({ filter: { topic: 'money' } });
  assert.equal(vault.count(), 3);
  assert.equal(vault.count({ topic: 'money' }), 0);
  await store.close();

  // Reopen the directory: the same documents are there.
  const again = await QuiverVectorStore.fromExistingVault(new QuiverLocalEmbeddings(), { path, vault: 'docs' });
  const found = await again.similaritySearch('the cat purrs', 3);
  assert.deepEqual(found.map((d) => d.pageContent).sort(), TEXTS.slice(0, 3).sort());
  assert.deepEqual(found.map((d) => d.metadata.topic), ['pets', 'pets', 'pets']);
  await again.close();
});

test("@langchain/core's SyntheticEmbeddings and FakeEmbeddings over an open database, ids given and generated", async () => {
  const db = await open(dbPath(), { dimension: 8, metric: 'l2' });
  const synthetic = new SyntheticEmbeddings({ vectorSize: 8 });
  const store = new QuiverVectorStore(synthetic, { db, vault: 'lc' });
  const docs = TEXTS.map((t, i) => new Document({ pageContent: t, metadata: META[i]! }));
  const generated = await store.addDocuments(docs);
  assert.equal(generated.length, 5);
  // Stable: the same documents get the same ids (an upsert, not a copy).
  assert.deepEqual(await store.addDocuments(docs), generated);
  assert.equal(db.vault('lc').count(), 5);
  const given = await store.addDocuments([new Document({ pageContent: 'an extra line about birds', metadata: { topic: 'birds' } })], { ids: ['bird-1'] });
  assert.deepEqual(given, ['bird-1']);
  assert.equal(db.vault('lc').get('bird-1')!.document!.text, 'an extra line about birds');
  assert.equal(db.vault('lc').get('bird-1')!.document!.lineage.model, 'SyntheticEmbeddings');

  const exact = await store.similaritySearchWithScore(TEXTS[3]!, 1);
  assert.equal(exact[0]![0].pageContent, TEXTS[3]);
  assert.equal(exact[0]![1], 0, 'l2: the same text is at distance 0');

  // FakeEmbeddings gives 4 values: a different dimension is a ConfigError, and nothing is written.
  const fake = new QuiverVectorStore(new FakeEmbeddings(), { db, vault: 'lc' });
  await assert.rejects(fake.addDocuments([new Document({ pageContent: 'x', metadata: {} })]), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_MISMATCH' && e.field === 'dimension');
  await assert.rejects(fake.similaritySearch('x', 1), ConfigError);
  assert.equal(db.vault('lc').count(), 6);
  await db.close();
});

test('FakeEmbeddings in a new directory: created with their dimension; a store handed other embeddings later is refused', async () => {
  const path = dbPath();
  const store = await QuiverVectorStore.fromDocuments([new Document({ pageContent: 'hello world', metadata: { a: 1 } })], new FakeEmbeddings(), { path });
  const [hit] = await store.similaritySearch('anything', 1);
  assert.equal(hit!.pageContent, 'hello world');
  await store.close();
  const db = await open(path, { readOnly: true });
  assert.equal(db.identity.dimension, 4);
  await db.close();
  const local = new QuiverVectorStore(new QuiverLocalEmbeddings(), { path });
  await assert.rejects(local.addDocuments([new Document({ pageContent: 'more text', metadata: {} })]), ConfigError);
  await local.close();
});
