import { nightlyStages } from '../../src/jobs/nightly/index.js';
import type { NightlyRun } from './nightly-variants.js';
import { fixed, percentile, renderTable, whole } from './report.js';

/** One row of the current-state table. */
export type CurrentStateRow = {
  scenario: string;
  label: string;
  sessions: number;
  calls: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  latenciesMs: number[];
};

export function currentStateRow(
  id: { scenario: string; label: string; sessions: number },
  latenciesMs: number[],
): CurrentStateRow {
  const sum = latenciesMs.reduce((a, b) => a + b, 0);
  return {
    ...id,
    calls: latenciesMs.length,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    meanMs: latenciesMs.length === 0 ? Number.NaN : sum / latenciesMs.length,
    latenciesMs,
  };
}

const stageHeads: Record<(typeof nightlyStages)[number], string> = {
  partitions: 'partitions',
  day_snapshots: 'day_snap',
  audit: 'audit',
  full_verify: 'full_verify',
  interval_snapshots: 'interval',
  anchors: 'anchors',
  summary: 'summary',
};

/** Wall time, rate, runNightly's own time and its stages (ms), snapshots audited, jobs per worker. */
export function formatNightlyTable(runs: readonly NightlyRun[]): string {
  const header = [
    'nightly run',
    'sessions',
    'wall ms',
    'sessions/s',
    'returned ms',
    ...nightlyStages.map((s) => stageHeads[s]),
    'audited',
    'jobs/worker',
    'fallbacks',
  ];
  const lines = runs.map((r) => [
    r.label,
    whole(r.sessions),
    whole(r.wallMs),
    whole(r.sessionsPerSec),
    whole(r.nightlyMs),
    ...nightlyStages.map((s) => whole(r.summary.durationsMs[s] ?? Number.NaN)),
    `${r.summary.audit.snapshots}+${r.summary.fullVerify.sessions}`,
    r.workers.length === 0 ? '-' : r.workers.map((w) => whole(w.completed)).join('+'),
    r.workers.length === 0 ? '-' : String(r.batches.unavailable),
  ]);
  return renderTable(header, lines);
}

export function formatCurrentStateTable(rows: readonly CurrentStateRow[]): string {
  const header = ['current state', 'sessions', 'calls', 'p50 ms', 'p99 ms', 'mean ms'];
  const lines = rows.map((r) => [
    r.label,
    whole(r.sessions),
    whole(r.calls),
    fixed(r.p50Ms, 2),
    fixed(r.p99Ms, 2),
    fixed(r.meanMs, 2),
  ]);
  return renderTable(header, lines);
}
