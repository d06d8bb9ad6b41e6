/**
 * Decoder fuzzing: random and mutated inputs for a decoder must give CorruptionError (or decode),
 * never another exception. Runs are seeded and repeatable; a failure names the seed, the trial
 * and the input's first bytes. `QUIVER_SOAK=1` multiplies the trials (npm run soak).
 */
import { CorruptionError } from '../../src/index.js';
import { seededRandom } from '../../src/util/random.js';

export const SOAK = process.env.QUIVER_SOAK === '1';
/** Trials per decoder and strategy: modest in npm test, fifty times more in the soak. */
export const TRIALS = Number(process.env.QUIVER_FUZZ_TRIALS ?? (SOAK ? 20_000 : 400));

export type Random = () => number;

function int(r: Random, n: number): number {
  return Math.floor(r() * n);
}

const INTERESTING_U32 = [0, 1, 2, 7, 8, 15, 16, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** A mutated copy of `input`: flipped bits, overwritten bytes or integers, cut, grown, or a range repeated. */
export function mutate(input: Uint8Array, r: Random): Buffer {
  let out = Buffer.from(input);
  const rounds = 1 + int(r, 4);
  for (let k = 0; k < rounds; k++) {
    const at = out.length === 0 ? 0 : int(r, out.length);
    switch (int(r, 8)) {
      case 0: // flip a bit
        if (out.length > 0) out[at] = out[at]! ^ (1 << int(r, 8));
        break;
      case 1: // overwrite a byte
        if (out.length > 0) out[at] = int(r, 256);
        break;
      case 2: // an interesting 32-bit integer
        if (out.length >= 4) out.writeUInt32LE(INTERESTING_U32[int(r, INTERESTING_U32.length)]!, Math.min(at, out.length - 4));
        break;
      case 3: // truncate
        out = out.subarray(0, at);
        break;
      case 4: // append random bytes
        out = Buffer.concat([out, randomBytes(r, 1 + int(r, 64))]);
        break;
      case 5: {
        // repeat a range
        const end = Math.min(out.length, at + 1 + int(r, 64));
        out = Buffer.concat([out.subarray(0, end), out.subarray(at, end), out.subarray(end)]);
        break;
      }
      case 6: {
        // delete a range
        const end = Math.min(out.length, at + 1 + int(r, 64));
        out = Buffer.concat([out.subarray(0, at), out.subarray(end)]);
        break;
      }
      default: // msgpack/JSON-ish bytes: type markers that change lengths and kinds
        if (out.length > 0) out[at] = [0xc0, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0x90, 0x80, 0xa0, 0x7b, 0x5b, 0x22, 0x30][int(r, 18)]!;
    }
  }
  return out;
}

export function randomBytes(r: Random, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = int(r, 256);
  return out;
}

export interface FuzzFailure {
  trial: number;
  error: string;
  input: string;
}

/**
 * Runs `decode` on `trials` inputs made by `make(r, trial)`; returns the trials where it threw
 * anything but CorruptionError (at most 5, so a broken decoder reports quickly).
 */
export function fuzz(seed: number, trials: number, make: (r: Random, trial: number) => Uint8Array, decode: (bytes: Uint8Array) => unknown, accept: (err: unknown) => boolean = (err) => err instanceof CorruptionError): FuzzFailure[] {
  const r = seededRandom(seed);
  const failures: FuzzFailure[] = [];
  for (let trial = 0; trial < trials && failures.length < 5; trial++) {
    const input = make(r, trial);
    try {
      decode(input);
    } catch (err) {
      if (!accept(err)) failures.push({ trial, error: err instanceof Error ? `${err.constructor.name}: ${err.message}\n${err.stack?.split('\n').slice(1, 4).join('\n')}` : String(err), input: Buffer.from(input).subarray(0, 96).toString('hex') });
    }
  }
  return failures;
}

/** Picks one of the samples and mutates it (or, one time in ten, makes random bytes of a similar size). */
export function mutated(samples: readonly Uint8Array[]): (r: Random) => Uint8Array {
  return (r) => {
    const sample = samples[int(r, samples.length)]!;
    if (r() < 0.1) return randomBytes(r, int(r, Math.max(64, sample.length * 2)));
    return mutate(sample, r);
  };
}
