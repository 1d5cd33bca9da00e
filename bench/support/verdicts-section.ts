// What a verdict costs on append (ADR 0030): the same archive-gate session appended to without
// verdicts, with verdicts from this process's recent state (warm), from a recent state one
// batch behind (stale: another writer got in, so the tail is folded) and with no recent state
// (cold: the newest snapshot and the tail), for 1 and 10 events per batch, at session lengths
// of 1k and 100k events, the modes interleaved sample by sample. The session is filled by the bot in 500-event batches; a manual
// snapshot is taken whenever 50 events have been appended since the last one (untimed), as the
// snapshotter would. Every verdict answer's last state hash is checked against a replay.
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createEventStore } from '../../src/events/index.js';
import type { EventStore } from '../../src/events/index.js';
import { defaultGames, playSession } from '../../src/game/index.js';
import type { GateEventInput } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createBatchJudge } from '../../src/verdicts/index.js';
import { withBenchDatabase } from './bench-database.js';
import { fixed, percentile, renderTable } from './report.js';

export type VerdictsOptions = {
  adminUrl: string;
  lengths: number[];
  batchSizes: number[];
  samples: number;
  warmups: number;
};

export const verdictModes = ['plain', 'warm', 'stale', 'cold'] as const;
export type VerdictBenchMode = (typeof verdictModes)[number];

export type VerdictsRow = {
  length: number;
  batch: number;
  mode: VerdictBenchMode;
  p50Ms: number;
  p99Ms: number;
  /** Over the plain append of the same length and batch (null for plain itself). */
  extraP50Ms: number | null;
  extraP99Ms: number | null;
  ratio: number | null;
};

export type VerdictsMeasured = { rows: VerdictsRow[]; problems: string[] };

type Bench = {
  agate: Agate;
  /** The same database, judging without recent states: snapshot and tail every time. */
  cold: EventStore;
  ref: { tenantId: string; sessionId: string };
  inputs: GateEventInput[];
  next: number;
  snapshotAt: number;
  lastHash: string | null;
  problems: string[];
};

const fillBatch = 500;
const snapshotEvery = 50;

function take(bench: Bench, count: number): GateEventInput[] {
  const events = bench.inputs.slice(bench.next, bench.next + count);
  if (events.length < count) throw new Error('the bench ran out of played events');
  bench.next += count;
  return events;
}

async function append(
  bench: Bench,
  store: EventStore,
  count: number,
  verdicts?: 'report',
): Promise<number> {
  const events = take(bench, count);
  const t0 = performance.now();
  // The bot's history with its own seeds (recorded), the same for every mode.
  const result = await store.appendEvents({ ...bench.ref, events, recordedSeeds: true, verdicts });
  const ms = performance.now() - t0;
  if (!result.ok) throw new Error(`append refused: ${result.reason}: ${result.message}`);
  if (result.stateHash !== undefined) bench.lastHash = result.stateHash;
  if (result.lastSequence - bench.snapshotAt >= snapshotEvery) {
    bench.snapshotAt = (await bench.agate.snapshot(bench.ref)).sequence;
  }
  return ms;
}

/**
 * One sample of every mode, interleaved so that a load that drifts (the machine is shared)
 * weighs on all of them alike: plain; an untimed plain append, which leaves the recent state a
 * batch behind, then stale; warm right after it (the stale append kept the state); cold.
 */
async function sampleRound(bench: Bench, batch: number): Promise<Record<VerdictBenchMode, number>> {
  const plain = await append(bench, bench.agate.store, batch);
  await append(bench, bench.agate.store, batch);
  const stale = await append(bench, bench.agate.store, batch, 'report');
  const warm = await append(bench, bench.agate.store, batch, 'report');
  const cold = await append(bench, bench.cold, batch, 'report');
  return { plain, warm, stale, cold };
}

async function checkLastHash(bench: Bench, label: string): Promise<void> {
  const replayed = await bench.agate.replay(bench.ref);
  if (bench.lastHash !== replayed.stateHash) {
    bench.problems.push(`${label}: the last verdict's state hash differs from a replay`);
  }
}

async function fill(agate: Agate, tenantId: string, length: number, extra: number) {
  const seed = `verdicts-bench-${length}`;
  const inputs = playSession(seed, {}, length + extra, `verdicts-bench-bot-${length}`);
  const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
  const ref = { tenantId, sessionId: session.id };
  for (let i = 0; i < length; i += fillBatch) {
    const events = inputs.slice(i, Math.min(length, i + fillBatch));
    const result = await agate.store.appendEvents({ ...ref, events, recordedSeeds: true });
    if (!result.ok) throw new Error(`fill refused: ${result.message}`);
  }
  const snapshot = await agate.snapshot(ref);
  return { ref, inputs, snapshotAt: snapshot.sequence };
}

function rowsOf(length: number, batch: number, times: Record<VerdictBenchMode, number[]>) {
  const plain50 = percentile(times.plain, 50);
  const plain99 = percentile(times.plain, 99);
  return verdictModes.map((mode): VerdictsRow => {
    const p50Ms = percentile(times[mode], 50);
    const p99Ms = percentile(times[mode], 99);
    const extra = mode !== 'plain';
    return {
      length,
      batch,
      mode,
      p50Ms,
      p99Ms,
      extraP50Ms: extra ? p50Ms - plain50 : null,
      extraP99Ms: extra ? p99Ms - plain99 : null,
      ratio: extra ? p50Ms / plain50 : null,
    };
  });
}

async function measureLength(
  pool: Pool,
  options: VerdictsOptions,
  length: number,
  log: (line: string) => void,
): Promise<{ rows: VerdictsRow[]; problems: string[] }> {
  const agate = createAgate({ pool, games: defaultGames, consumers: false });
  const cold = createEventStore({
    pool,
    catalog: defaultGames.eventTypes,
    judge: createBatchJudge({ pool, games: defaultGames, recentStates: 0 }),
  });
  try {
    const tenantId = (await createTenant(pool, { name: `verdicts ${length}`, actor: 'bench' })).id;
    const perBatch = (options.samples + options.warmups) * (verdictModes.length + 1) + 1;
    const extra = options.batchSizes.reduce((sum, b) => sum + b * perBatch, 0);
    const t0 = performance.now();
    const filled = await fill(agate, tenantId, length, extra);
    log(`  filled a ${length}-event session in ${fixed((performance.now() - t0) / 1000, 1)} s`);
    const bench: Bench = { agate, cold, ...filled, next: length, lastHash: null, problems: [] };
    const rows: VerdictsRow[] = [];
    for (const batch of options.batchSizes) {
      const times: Record<VerdictBenchMode, number[]> = {
        plain: [],
        warm: [],
        stale: [],
        cold: [],
      };
      for (let i = 0; i < options.warmups + options.samples; i += 1) {
        const round = await sampleRound(bench, batch);
        if (i < options.warmups) continue;
        for (const mode of verdictModes) times[mode].push(round[mode]);
      }
      await checkLastHash(bench, `${length} events, ${batch}/batch`);
      for (const r of rowsOf(length, batch, times)) {
        rows.push(r);
        log(`  ${rowLine(r)}`);
      }
    }
    return { rows, problems: bench.problems };
  } finally {
    await agate.close();
  }
}

function rowLine(r: VerdictsRow): string {
  const extra =
    r.extraP50Ms === null
      ? ''
      : `, extra p50 ${fixed(r.extraP50Ms, 2)} ms p99 ${fixed(r.extraP99Ms ?? 0, 2)} ms, ratio ${fixed(r.ratio ?? 0, 2)}`;
  return `${r.length} events, ${r.batch}/batch, ${r.mode}: p50 ${fixed(r.p50Ms, 2)} ms p99 ${fixed(r.p99Ms, 2)} ms${extra}`;
}

export function formatVerdictsTable(rows: readonly VerdictsRow[]): string {
  const cell = (v: number | null, digits = 2) => (v === null ? '' : fixed(v, digits));
  return renderTable(
    ['session', 'batch', 'mode', 'p50 ms', 'p99 ms', 'extra p50', 'extra p99', 'ratio p50'],
    rows.map((r) => [
      `${r.length}`,
      `${r.batch}`,
      r.mode,
      cell(r.p50Ms),
      cell(r.p99Ms),
      cell(r.extraP50Ms),
      cell(r.extraP99Ms),
      cell(r.ratio),
    ]),
  );
}

/** The warm target of the issue: a verdict's p50 extra cost at most 2 ms at every length. */
export function warmTargetMet(r: VerdictsRow): boolean {
  return (r.extraP50Ms ?? Infinity) <= 2;
}

export async function measureVerdicts(
  options: VerdictsOptions,
  log: (line: string) => void,
): Promise<VerdictsMeasured> {
  return withBenchDatabase(options.adminUrl, async (db) => {
    const pool = createPool({ connectionString: db.url, applicationName: 'agate-bench-verdicts' });
    try {
      const rows: VerdictsRow[] = [];
      const problems: string[] = [];
      for (const length of options.lengths) {
        const measured = await measureLength(pool, options, length, log);
        rows.push(...measured.rows);
        problems.push(...measured.problems);
      }
      return { rows, problems };
    } finally {
      await pool.end();
    }
  });
}
