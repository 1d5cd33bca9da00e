// The feed's live rows: 32 writers (quick: 8) of single events, each variant of what runs beside
// them on a fresh database, interleaved run by run; the latency rows and the append rates with
// their ratios.
import { runAppendVariant } from './feed-append-rate.js';
import type { AppendRun, AppendVariant } from './feed-append-rate.js';
import type { LatencyResult } from './feed-latency.js';
import { feedRow } from './feed-report.js';
import type { FeedRow, FeedScenario } from './feed-report.js';
import { liveVariants } from './feed-variants.js';
import { fixed, median, medianOf, whole } from './report.js';

export type LiveOptions = {
  writers: number;
  durationMs: number;
  /** Events each writer's bot session is played for before it starts another. */
  sessionEvents: number;
  runs: number;
  /** How long consumers may take to catch up after the writers stop. */
  catchUpTimeoutMs: number;
};

type Run = { adminUrl: string; redisUrl: string; live: LiveOptions; log: (line: string) => void };

/** Which row each variant's ratio is over. */
const baselineOf: Partial<Record<FeedScenario, { of: FeedScenario; text: string }>> = {
  'append-own-and-external': { of: 'append-own', text: 'own+3/own' },
  'append-own': { of: 'append-none', text: 'own/none' },
  'append-notify-inside': { of: 'append-none', text: 'notify/none' },
};

function notifyNote(runs: readonly AppendRun[]): string {
  const sum = (key: 'samples' | 'anyHolder' | 'appendHolder') =>
    runs.reduce((n, r) => n + r.notifyLock[key], 0);
  return `NOTIFY commit lock held by an append's transaction in ${sum('appendHolder')}/${sum('samples')} samples (by any backend ${sum('anyHolder')})`;
}

function latencies(runs: readonly AppendRun[]): LatencyResult[] {
  return runs.flatMap((r) => (r.latency === null ? [] : [r.latency]));
}

function latencyNote(found: readonly LatencyResult[]): string {
  if (found.length === 0) return '';
  const sum = (key: 'acked' | 'delivered' | 'seenBeforeAck' | 'missing') =>
    found.reduce((n, r) => n + r[key], 0);
  return `${whole(sum('acked'))} acked, ${whole(sum('delivered'))} delivered, ${sum('missing')} missing, ${sum('seenBeforeAck')} seen before the ack`;
}

function liveRow(
  v: AppendVariant,
  measured: readonly AppendRun[],
  rateOf: (s: FeedScenario) => number,
): FeedRow {
  const m = medianOf(measured);
  const baseline = baselineOf[v.scenario];
  const lat = latencies(measured);
  const latencyP = (key: 'p50Ms' | 'p99Ms') => median(lat.map((l) => l[key]));
  const catchUp = median(measured.map((r) => r.catchUpMs));
  const isLatencyRow = v.scenario.startsWith('commit-to-consumer');
  const note = [
    `${m.errors} failed`,
    `append p50 ${fixed(m.p50Ms, 1)} p99 ${fixed(m.p99Ms, 1)} ms`,
    !isLatencyRow && lat.length > 0
      ? `external consumer's latency p50 ${fixed(latencyP('p50Ms'), 1)} p99 ${fixed(latencyP('p99Ms'), 1)} ms`
      : '',
    latencyNote(lat),
    catchUp >= 1 ? `consumers idle ${whole(catchUp)} ms after the writers` : '',
    notifyNote(measured),
  ];
  return feedRow(v.scenario, v.label, {
    events: median(measured.map((r) => r.acked)),
    eventsPerSec: m.eventsPerSec,
    // The latency row's percentiles are the consumer's; the others' are the appends'.
    p50Ms: isLatencyRow ? latencyP('p50Ms') : m.p50Ms,
    p99Ms: isLatencyRow ? latencyP('p99Ms') : m.p99Ms,
    ratio: baseline === undefined ? null : m.eventsPerSec / rateOf(baseline.of),
    ratioOf: baseline?.text ?? '',
    note: note.filter((t) => t !== '').join('; '),
    // The per-event latencies stay out of the results file; their percentiles are kept.
    runs: measured.map((r) => ({
      ...r,
      latency: r.latency === null ? null : { ...r.latency, latenciesMs: undefined },
    })),
  });
}

function progress(scenario: FeedScenario, run: number, once: AppendRun): string {
  const lat =
    once.latency === null
      ? ''
      : `, consumer latency p50 ${fixed(once.latency.p50Ms, 2)} ms p99 ${fixed(once.latency.p99Ms, 2)} ms`;
  const check = once.problems.length === 0 ? 'checks: ok' : 'checks: FAILED';
  return `  ${scenario} run ${run}: ${whole(once.eventsPerSec)} events/s, ${once.errors} failed, append p50 ${fixed(once.p50Ms, 2)} ms p99 ${fixed(once.p99Ms, 2)} ms${lat}; ${notifyNote([once])}; ${check}`;
}

export async function measureLive(
  options: Run,
  prefix: string,
): Promise<{ rows: FeedRow[]; problems: string[] }> {
  const { writers, durationMs, sessionEvents, catchUpTimeoutMs } = options.live;
  const variants = liveVariants({ redisUrl: options.redisUrl, prefix, catchUpTimeoutMs });
  const runs = new Map<FeedScenario, AppendRun[]>();
  const problems: string[] = [];
  for (let run = 1; run <= options.live.runs; run += 1) {
    for (const variant of variants) {
      const once = await runAppendVariant(options.adminUrl, variant, {
        writers,
        durationMs,
        sessionEvents,
      });
      options.log(progress(variant.scenario, run, once));
      for (const failure of new Set(once.failureSamples)) options.log(`    failed: ${failure}`);
      problems.push(...once.problems);
      runs.set(variant.scenario, [...(runs.get(variant.scenario) ?? []), once]);
    }
  }
  const rateOf = (scenario: FeedScenario) => medianOf(runs.get(scenario) ?? []).eventsPerSec;
  const rows = variants.map((v) => ({
    ...liveRow(v, runs.get(v.scenario) ?? [], rateOf),
    clients: writers,
  }));
  return { rows, problems };
}
