/**
 * The workload of test/native/readers-race.test.ts as a pure function of the step number, so
 * the writer process and every reader process compute the same states: the writer to write
 * them, a reader to know exactly what it must see once it has seen the clock of step s.
 *
 * Step 0 is the base: BASE records and the clock. Step s (one db.batch, all or nothing) inserts
 * NEW records, moves UPDATE live records to new vectors, erases ERASE live ones, and sets the
 * record `clock` (payload { s }) to a new vector: a reader that finds clock s must hold exactly
 * state(s), and a batch seen in part is a torn batch.
 */
import { seededRandom } from '../../src/util/random.js';
import type { BatchOp } from '../../src/index.js';

export const DIM = 16;
export const BASE = 5000;
export const NEW = 20;
export const UPDATE = 12;
export const ERASE = 10;
export const VAULT = 'v';
export const CLOCK = 'clock';

/** A seed from a string (FNV-1a), so every record's vector depends only on its id and version. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The vector of `id` as written at step `version`. */
export function vectorOf(id: string, version: number): Float32Array {
  const r = seededRandom(hash(`${id}@${version}`));
  return Float32Array.from({ length: DIM }, () => r() * 2 - 1);
}

/** Its payload: `g` splits the vault in two halves (a broad filter), `v` is the version. */
export function payloadOf(id: string, version: number): { g: number; v: number; s?: number } {
  const payload: { g: number; v: number; s?: number } = { g: hash(id) % 2, v: version };
  if (id === CLOCK) payload.s = version;
  return payload;
}

export interface Written {
  id: string;
  version: number;
}

/** The live records after some step, and the step's own changes. */
export class RaceModel {
  step = 0;
  /** id -> the step that wrote its current vector. */
  readonly live = new Map<string, number>();
  /** Live ids but the clock, in an order both sides keep alike (for picking). */
  private readonly order: string[] = [];
  /** Vectors that were current once and are no longer (erased or moved): queries aimed at them. */
  readonly gone: Written[] = [];
  /** What the last step wrote (base records at step 0): a reader holds these in its tail, after its map. */
  latest: Written[] = [];

  constructor(private readonly seed: number) {
    for (let i = 0; i < BASE; i++) this.put(`base${i}`, 0);
    this.live.set(CLOCK, 0);
  }

  private put(id: string, version: number): void {
    if (!this.live.has(id)) this.order.push(id);
    this.live.set(id, version);
  }

  private retire(id: string): void {
    this.gone.push({ id, version: this.live.get(id)! });
    if (this.gone.length > 200) this.gone.splice(0, this.gone.length - 200);
  }

  /** Moves to step + 1; returns what that step writes. */
  next(): { inserts: Written[]; erases: string[] } {
    const s = ++this.step;
    const r = seededRandom((this.seed * 1_000_003 + s) >>> 0);
    const pick = (): number => Math.floor(r() * this.order.length) % this.order.length;
    const inserts: Written[] = [];
    const erases: string[] = [];
    const touched = new Set<string>();
    for (let i = 0; i < ERASE; i++) {
      const at = pick();
      const id = this.order[at]!;
      if (touched.has(id)) continue;
      touched.add(id);
      erases.push(id);
      this.retire(id);
      this.live.delete(id);
      this.order[at] = this.order[this.order.length - 1]!;
      this.order.pop();
    }
    for (let i = 0; i < UPDATE; i++) {
      const id = this.order[pick()]!;
      if (touched.has(id)) continue;
      touched.add(id);
      this.retire(id);
      inserts.push({ id, version: s });
    }
    for (let i = 0; i < NEW; i++) inserts.push({ id: `s${s}-${i}`, version: s });
    this.retire(CLOCK);
    inserts.push({ id: CLOCK, version: s });
    for (const w of inserts) this.put(w.id, w.version);
    this.live.set(CLOCK, s);
    this.latest = inserts;
    return { inserts, erases };
  }
}

/** The step as one all-or-nothing batch. */
export function batchOf(step: { inserts: Written[]; erases: string[] }): BatchOp[] {
  return [
    ...step.erases.map((id): BatchOp => ({ op: 'erase', vault: VAULT, id })),
    ...step.inserts.map((w): BatchOp => ({ op: 'insert', vault: VAULT, id: w.id, vector: vectorOf(w.id, w.version), payload: payloadOf(w.id, w.version) })),
  ];
}
