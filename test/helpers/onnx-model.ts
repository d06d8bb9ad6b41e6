/**
 * Writes a small feature-extraction model folder that @huggingface/transformers loads like any
 * other: the built-in embedder's word table as an ONNX graph (last_hidden_state = Gather(table,
 * input_ids)), a whole-word WordPiece tokenizer over the same words, and a BERT-style config.
 * The ONNX protobuf messages are written by hand (field numbers from onnx.proto).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeLocalEmbed } from '../../src/embedder/localembed-file.js';
import { defaultArtifact } from '../../src/embedder/shipped-table.js';

class Proto {
  private parts: Buffer[] = [];
  private varint(n: number | bigint): void {
    let v = BigInt(n);
    const bytes: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      bytes.push(b);
    } while (v > 0n);
    this.parts.push(Buffer.from(bytes));
  }
  int(field: number, value: number): this {
    this.varint((field << 3) | 0);
    this.varint(value);
    return this;
  }
  bytes(field: number, value: Uint8Array | string | Proto): this {
    const buf = value instanceof Proto ? value.finish() : typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    this.varint((field << 3) | 2);
    this.varint(buf.byteLength);
    this.parts.push(buf);
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const INT64 = 7;
const FLOAT = 1;

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Proto {
  const shape = new Proto();
  for (const d of dims) shape.bytes(1, typeof d === 'number' ? new Proto().int(1, d) : new Proto().bytes(2, d));
  const tensorType = new Proto().int(1, elemType).bytes(2, shape);
  return new Proto().bytes(1, name).bytes(2, new Proto().bytes(1, tensorType));
}

export function writeTestModel(dir: string, words = 8000): { dir: string; dimension: number } {
  const table = decodeLocalEmbed(defaultArtifact(), 'table');
  const dim = table.meta.dimension;
  const n = Math.min(words, table.meta.words);
  const vocab = ['[PAD]', '[UNK]', ...table.vocabulary.slice(0, n)];
  const matrix = new Float32Array(vocab.length * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) matrix[(i + 2) * dim + j] = table.vectors[i * dim + j]! * table.scales[i]!;
  }
  const embeddings = new Proto().int(1, vocab.length).int(1, dim).int(2, FLOAT).bytes(8, 'embeddings').bytes(9, new Uint8Array(matrix.buffer));
  const gather = new Proto().bytes(1, 'embeddings').bytes(1, 'input_ids').bytes(2, 'last_hidden_state').bytes(3, 'lookup').bytes(4, 'Gather');
  const graph = new Proto()
    .bytes(1, gather)
    .bytes(2, 'quiver-test-glove')
    .bytes(5, embeddings)
    .bytes(11, valueInfo('input_ids', INT64, ['batch', 'sequence']))
    .bytes(12, valueInfo('last_hidden_state', FLOAT, ['batch', 'sequence', dim]));
  const model = new Proto().int(1, 8).bytes(2, 'quiverdb tests').bytes(7, graph).bytes(8, new Proto().bytes(1, '').int(2, 13));

  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), model.finish());
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', architectures: ['BertModel'], hidden_size: dim, vocab_size: vocab.length, max_position_embeddings: 512 }));
  fs.writeFileSync(
    path.join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [
        { id: 0, content: '[PAD]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        { id: 1, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: null,
      decoder: null,
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((w, i) => [w, i])) },
    }),
  );
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer', model_max_length: 512, pad_token: '[PAD]', unk_token: '[UNK]', do_lower_case: true }));
  return { dir, dimension: dim };
}
