import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BaseEmbedding } from '@llamaindex/core/embeddings';
import { Document, MetadataMode, NodeRelationship, SentenceSplitter, Settings, TextNode, VectorStoreIndex, VectorStoreQueryMode } from 'llamaindex';
import { ConfigError, LocalEmbedder, open } from '../../src/index.js';
import { QuiverVectorStore } from '../../src/integrations/llamaindex.js';
import { dbPath } from '../helpers/tmp.js';

/** quiverdb's built-in embedder as a LlamaIndex embed model, so the pipeline runs offline. */
class LocalEmbedding extends BaseEmbedding {
  constructor(private readonly local: LocalEmbedder) {
    super();
  }
  async getTextEmbedding(text: string): Promise<number[]> {
    return Array.from((await this.local.embed([text]))[0]!);
  }
}

const PETS = 'Cats purr when they are content. A kitten chases yarn across the floor. Old cats sleep in the sun most of the day.';
const MONEY = 'Stock markets fell sharply on Monday. Investors sold shares as prices dropped. Bond yields rose for a third week.';

test('VectorStoreIndex over the store: nodes added through the pipeline, retrieved, filtered, and delete(refDocId) removes every chunk', async () => {
  const path = dbPath();
  const embedModel = new LocalEmbedding(await LocalEmbedder.create());
  // The usual LlamaIndex set-up: one embed model for the app; the store reads it from Settings.
  Settings.embedModel = embedModel;
  const store = new QuiverVectorStore({ path, vault: 'llama' });
  // Small chunks, so each document becomes several nodes; the index embeds them with the store's model.
  const nodes = new SentenceSplitter({ chunkSize: 24, chunkOverlap: 0 }).getNodesFromDocuments([
    new Document({ text: PETS, id_: 'pets', metadata: { topic: 'pets' } }),
    new Document({ text: MONEY, id_: 'money', metadata: { topic: 'money' } }),
  ]);
  await (await VectorStoreIndex.fromVectorStore(store)).insertNodes(nodes);

  const db = store.client()!;
  const vault = db.vault('llama');
  const chunks = vault.count();
  assert.ok(vault.count({ ref_doc_id: 'pets' }) >= 2, 'the pets document became several chunks');
  assert.equal(vault.count({ ref_doc_id: 'pets' }) + vault.count({ ref_doc_id: 'money' }), chunks);

  // A fresh index over the same store, through the retriever.
  const index = await VectorStoreIndex.fromVectorStore(store);
  const hits = await index.asRetriever({ similarityTopK: 2 }).retrieve({ query: 'a kitten playing with yarn' });
  assert.equal(hits.length, 2);
  assert.ok(hits[0]!.node.getContent(MetadataMode.NONE).includes('kitten'), hits[0]!.node.getContent(MetadataMode.NONE));
  assert.equal(hits[0]!.node.metadata.topic, 'pets');
  assert.equal(typeof hits[0]!.score, 'number');

  const filtered = await index.asRetriever({ similarityTopK: 10, filters: { filters: [{ key: 'topic', value: 'money', operator: '==' }] } }).retrieve({ query: 'a kitten playing with yarn' });
  assert.equal(filtered.length, vault.count({ ref_doc_id: 'money' }));
  assert.ok(filtered.every((h) => h.node.metadata.topic === 'money'));

  // delete(refDocId): every chunk of that document, nothing else.
  await store.delete('pets');
  assert.equal(vault.count({ ref_doc_id: 'pets' }), 0);
  assert.equal(vault.count(), vault.count({ ref_doc_id: 'money' }));
  const after = await index.asRetriever({ similarityTopK: 10 }).retrieve({ query: 'a kitten playing with yarn' });
  assert.ok(after.every((h) => h.node.metadata.topic === 'money'));
  await store.close();
});

test('query: modes, filters of each operator, docIds; a node of the wrong dimension is a ConfigError', async () => {
  const db = await open(dbPath(), { dimension: 3, metric: 'cosine' });
  const store = new QuiverVectorStore({ db, vault: 'q' });
  const node = (id: string, text: string, embedding: number[], metadata: Record<string, unknown>, doc: string) =>
    new TextNode({ id_: id, text, embedding, metadata, relationships: { [NodeRelationship.SOURCE]: { nodeId: doc, metadata: {} } } });
  const ids = await store.add([
    node('n1', 'red apples', [1, 0, 0], { colour: 'red', n: 1, tags: ['fruit', 'sweet'] }, 'd1'),
    node('n2', 'red cars', [0.9, 0.1, 0], { colour: 'red', n: 2, tags: ['vehicle'] }, 'd2'),
    node('n3', 'green apples', [0.8, 0, 0.2], { colour: 'green', n: 3, tags: ['fruit'] }, 'd1'),
    node('n4', 'blue sky', [0, 0, 1], { colour: 'blue', n: 4, tags: [] }, 'd3'),
  ]);
  assert.deepEqual(ids, ['n1', 'n2', 'n3', 'n4']);
  const q = async (filters?: unknown, extra: Record<string, unknown> = {}) =>
    (await store.query({ queryEmbedding: [1, 0, 0], similarityTopK: 10, mode: VectorStoreQueryMode.DEFAULT, ...(filters ? { filters } : {}), ...extra } as never)).ids;
  assert.deepEqual(await q(), ['n1', 'n2', 'n3', 'n4']);
  const f = (key: string, operator: string, value?: unknown) => ({ filters: [{ key, operator, ...(value !== undefined ? { value } : {}) }] });
  assert.deepEqual(await q(f('colour', '==', 'red')), ['n1', 'n2']);
  assert.deepEqual(await q(f('colour', '!=', 'red')), ['n3', 'n4']);
  assert.deepEqual(await q(f('n', '>', 2)), ['n3', 'n4']);
  assert.deepEqual(await q(f('n', '>=', 2)), ['n2', 'n3', 'n4']);
  assert.deepEqual(await q(f('n', '<', 2)), ['n1']);
  assert.deepEqual(await q(f('n', '<=', 2)), ['n1', 'n2']);
  assert.deepEqual(await q(f('colour', 'in', ['green', 'blue'])), ['n3', 'n4']);
  assert.deepEqual(await q(f('colour', 'nin', ['green', 'blue'])), ['n1', 'n2']);
  assert.deepEqual(await q(f('tags', 'any', ['sweet', 'vehicle'])), ['n1', 'n2']);
  assert.deepEqual(await q(f('tags', 'all', ['fruit', 'sweet'])), ['n1']);
  assert.deepEqual(await q(f('tags', 'contains', 'fruit')), ['n1', 'n3']);
  assert.deepEqual(await q(f('tags', 'is_empty')), ['n4']);
  assert.deepEqual(await q({ filters: [{ key: 'colour', value: 'red', operator: '==' }, { key: 'n', value: 3, operator: '==' }], condition: 'or' }), ['n1', 'n2', 'n3']);
  assert.deepEqual(await q({ filters: [{ key: 'colour', value: 'red', operator: '==' }, { key: 'n', value: 2, operator: '>=' }], condition: 'and' }), ['n2']);
  assert.deepEqual(await q(undefined, { docIds: ['d1'] }), ['n1', 'n3']);

  // MMR: lambda 0 is all novelty, so the near-copy of the best hit is pushed back.
  const mmr = await store.query({ queryEmbedding: [1, 0, 0], similarityTopK: 2, mode: VectorStoreQueryMode.MMR, mmrThreshold: 0 });
  assert.equal(mmr.ids[0], 'n1');
  assert.notEqual(mmr.ids[1], 'n2');
  // SPARSE: BM25 over the stored node text.
  const sparse = await store.query({ queryStr: 'cars', similarityTopK: 1, mode: VectorStoreQueryMode.SPARSE });
  assert.deepEqual(sparse.ids, ['n2']);
  assert.equal(sparse.nodes![0]!.getContent(MetadataMode.NONE), 'red cars');

  await assert.rejects(store.add([node('bad', 'four values', [1, 2, 3, 4], {}, 'd9')]), ConfigError);
  await assert.rejects(store.query({ queryEmbedding: [1, 0], similarityTopK: 1, mode: VectorStoreQueryMode.DEFAULT }), ConfigError);
  assert.equal(db.vault('q').count(), 4);
  assert.equal(store.client(), db);
  await db.close();
});
