// Gaps of the event loop during a checkpoint, charged to its phases (checkpointProbe, set only by
// benches): a 1 ms timer chain; each phase active during a gap is charged the part of it that
// phase covered (phases change synchronously inside a stall, so the one active when the timer
// fires is often not the one that blocked). bench/checkpoint-scale.ts and bench/memory-build.ts.
import { checkpointProbe } from '../src/engine/maintenance/checkpoint.js';

export interface PhaseFigures {
  ms: number;
  stallMs: number;
}

export class LoopPhases {
  private phase = 'idle';
  private phaseStart = 0;
  phases = new Map<string, PhaseFigures>();
  private marks: { at: number; name: string }[] = [];
  private phaseAtLastTick = 'idle';
  private last = performance.now();
  private ticking = false;

  constructor() {
    checkpointProbe.phase = (name: string) => this.enter(name);
  }

  /** Enters phase `name` (the checkpoint's own phases come through checkpointProbe). */
  enter(name: string): void {
    const now = performance.now();
    const p = this.phases.get(this.phase);
    if (p) p.ms += now - this.phaseStart;
    this.marks.push({ at: now, name });
    this.phase = name;
    this.phaseStart = now;
    if (!this.phases.has(name)) this.phases.set(name, { ms: 0, stallMs: 0 });
  }

  /** Starts the timer chain with fresh figures, in phase `name`. */
  start(name: string): void {
    this.phases = new Map();
    this.enter(name);
    this.ticking = true;
    this.last = performance.now();
    this.marks = [];
    this.phaseAtLastTick = this.phase;
    setTimeout(() => this.tick(), 1);
  }

  /** Stops the chain; returns the figures of every phase but 'idle'. */
  stop(): Map<string, PhaseFigures> {
    this.enter('idle');
    this.ticking = false;
    return new Map([...this.phases].filter(([name]) => name !== 'idle'));
  }

  /** The phase charged the longest gap, and that gap. */
  static worst(phases: Map<string, PhaseFigures>): [string, number] {
    return [...phases].reduce<[string, number]>((w, [name, p]) => (p.stallMs > w[1] ? [name, p.stallMs] : w), ['none', 0]);
  }

  private tick(): void {
    const now = performance.now();
    const seen = [{ at: this.last, name: this.phaseAtLastTick }, ...this.marks];
    seen.forEach((m, i) => {
      const p = this.phases.get(m.name);
      const covered = (i + 1 < seen.length ? seen[i + 1]!.at : now) - m.at;
      if (p && covered > p.stallMs) p.stallMs = covered;
    });
    this.marks = [];
    this.phaseAtLastTick = this.phase;
    this.last = now;
    if (this.ticking) setTimeout(() => this.tick(), 1);
  }
}
