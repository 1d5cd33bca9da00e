import { fixed, renderTable, whole } from './report.js';
import type { ChildResult } from './run-child.js';

/** What a row of the replay bench measured; a figure that does not apply is null. */
export type ReplayFigures = {
  eventsPerSec: number | null;
  /** Wall time of one whole replay or read (median over the runs). */
  ms: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  maxRssMb: number | null;
  /** Peak RSS of the child before its measured work: Node, the compiled modules and a connection. */
  baseRssMb: number | null;
  /** events/s of the agate genesis replay over the raw read's, same session, same run. */
  ratioToRaw: number | null;
};

export type RowDetail =
  | { kind: 'fold'; passes: number; elapsedMs: number }
  | { kind: 'child'; runs: ChildResult[] }
  | { kind: 'tail'; snapshotSequence: number; fillMs: number; latenciesMs: number[] };

export type ReplayRow = { scenario: string; label: string; events: number } & ReplayFigures & {
    detail: RowDetail;
  };

const noFigures: ReplayFigures = {
  eventsPerSec: null,
  ms: null,
  p50Ms: null,
  p99Ms: null,
  maxRssMb: null,
  baseRssMb: null,
  ratioToRaw: null,
};

export function replayRow(
  id: { scenario: string; label: string; events: number },
  figures: Partial<ReplayFigures>,
  detail: RowDetail,
): ReplayRow {
  return { ...id, ...noFigures, ...figures, detail };
}

/** The figure as a number for the formatters, which print NaN as '-'. */
function num(value: number | null): number {
  return value ?? Number.NaN;
}

export function formatReplayTable(rows: readonly ReplayRow[]): string {
  const header = ['scenario', 'events', 'ms', 'events/s', 'p50 ms', 'p99 ms', 'max RSS MB'];
  const lines = rows.map((r) => [
    r.label,
    whole(r.events),
    whole(num(r.ms)),
    whole(num(r.eventsPerSec)),
    fixed(num(r.p50Ms), 2),
    fixed(num(r.p99Ms), 2),
    r.maxRssMb === null ? '-' : `${whole(r.maxRssMb)} (base ${whole(num(r.baseRssMb))})`,
    r.ratioToRaw === null ? '' : `agate/raw ${fixed(r.ratioToRaw, 2)}`,
  ]);
  return renderTable([...header, ''], lines);
}
