import type { RunStats } from './run-workers.js';

export type Measurement = {
  eventsPerSec: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
};

export type Row = Measurement & {
  scenario: string;
  label: string;
  clients: number;
  batch: number;
  /** events/s of this agate row over its raw baseline's, same clients and batch. */
  ratioToRaw: number | null;
  runs: Measurement[];
  /** CPU per acknowledged event of each process (client, server, worker, postgres), in µs. */
  cpuUsPerEvent: Record<string, number>;
  /** How long the derived data took to appear after the load stopped (rows that derive). */
  drainMs: number | null;
};

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

export function measure(stats: RunStats, batch: number): Measurement {
  const seconds = stats.elapsedMs / 1000;
  return {
    eventsPerSec: (stats.okCalls * batch) / seconds,
    callsPerSec: stats.okCalls / seconds,
    p50Ms: percentile(stats.latenciesMs, 50),
    p99Ms: percentile(stats.latenciesMs, 99),
    errors: stats.failures,
  };
}

/** Each figure is the median over the runs (for two runs, their mean); errors are summed. */
export function medianOf(runs: readonly Measurement[]): Measurement {
  const of = (key: keyof Measurement): number => median(runs.map((r) => r[key]));
  return {
    eventsPerSec: of('eventsPerSec'),
    callsPerSec: of('callsPerSec'),
    p50Ms: of('p50Ms'),
    p99Ms: of('p99Ms'),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

export function whole(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

/** "client 120, server 340, ..." in µs per event. */
export function cpuText(cpu: Readonly<Record<string, number>>): string {
  return Object.entries(cpu)
    .map(([name, us]) => `${name} ${whole(us)}`)
    .join(', ');
}

export function formatTable(rows: readonly Row[]): string {
  const header = [
    'scenario',
    'clients',
    'events/s',
    'calls/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'CPU us/event',
    'drain ms',
  ];
  const lines = rows.map((r) => [
    r.label,
    String(r.clients),
    whole(r.eventsPerSec),
    whole(r.callsPerSec),
    fixed(r.p50Ms, 2),
    fixed(r.p99Ms, 2),
    String(r.errors),
    cpuText(r.cpuUsPerEvent),
    r.drainMs === null ? '-' : whole(r.drainMs),
    r.ratioToRaw === null ? '' : `x minimal ${fixed(r.ratioToRaw, 2)}`,
  ]);
  const all = [[...header, ''], ...lines];
  const widths = header.map((_, c) => Math.max(...all.map((line) => (line[c] ?? '').length)));
  const render = (line: string[]): string =>
    line
      .map((cell, c) => {
        const width = widths[c];
        if (width === undefined) return cell;
        return c === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [render(all[0] ?? []), rule, ...lines.map(render)].join('\n');
}

/** A plain text table: the first column left-aligned, the others right-aligned. */
export function renderTable(
  header: readonly string[],
  lines: readonly (readonly string[])[],
): string {
  const all = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...all.map((line) => (line[c] ?? '').length)));
  const render = (line: readonly string[]): string =>
    line
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [render(header), rule, ...lines.map(render)].join('\n');
}
