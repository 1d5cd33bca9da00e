import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where reliability tests write their figures; the suite's teardown prints them. */
    reliabilityTallyDir: string;
  }
}

/** One figure a reliability test reports: what was held, injected, tried, lost. */
export type Figure = {
  /** The suite section: faults, load, jobs, isolation, append-only, bad input. */
  section: 'faults' | 'load' | 'jobs' | 'isolation' | 'append-only' | 'bad input';
  /** What was counted, as a short phrase: `cuts before the statement`, `events/s (32 writers)`. */
  what: string;
  value: number;
  /** Figures that must be 0 for the run to be sound (lost or duplicated events). */
  mustBeZero?: boolean;
};

/** Records figures for the end-of-suite summary (one JSON line per figure, per worker file). */
export function tally(...figures: Figure[]): void {
  const dir = inject('reliabilityTallyDir');
  mkdirSync(dir, { recursive: true });
  const lines = figures.map((f) => `${JSON.stringify(f)}\n`).join('');
  appendFileSync(join(dir, `${process.pid}.jsonl`), lines);
}
