// Replay speed of agate: the pure fold in process, a genesis replay from PostgreSQL next to a raw
// read of the same rows (each in its own process, for its peak RSS), and the current state from a
// snapshot plus a short tail, for sessions of every size asked.
import { createPool } from '../../src/db/index.js';
import { archiveGateV1, defaultGames, foldGateEvents, playSession } from '../../src/game/index.js';
import { stateHash } from '../../replay/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { withBenchDatabase } from './bench-database.js';
import { foldSessionFor, measureFold, toReplayEvents, withHashChain } from './fold-throughput.js';
import type { FoldRun } from './fold-throughput.js';
import { fixed, median, percentile } from './report.js';
import { replayRow } from './replay-report.js';
import type { ReplayRow } from './replay-report.js';
import { fillSession, timeTailReplays } from './replay-sessions.js';
import type { FilledSession } from './replay-sessions.js';
import { compileChild } from './compile-child.js';
import { runChild } from './run-child.js';
import type { ChildMode, ChildResult } from './run-child.js';

export type ReplayOptions = {
  adminUrl: string;
  foldEvents: number;
  foldDurationMs: number;
  foldWarmupMs: number;
  /** The session replayed from genesis, and the largest of the snapshot + tail sessions. */
  bigSession: number;
  sessionSizes: number[];
  tail: number;
  warmups: number;
  samples: number;
  genesisRuns: number;
};

type Measured = { rows: ReplayRow[]; problems: string[] };
type Run = ReplayOptions & { log: (line: string) => void };

function foldRow(log: Run['log'], scenario: string, label: string, run: FoldRun): ReplayRow {
  log(
    `  ${scenario}: ${Math.round(run.eventsPerSec)} events/s (${run.passes} passes in ${Math.round(run.elapsedMs)} ms)`,
  );
  return replayRow(
    { scenario, label, events: run.events },
    {
      eventsPerSec: run.eventsPerSec,
      p50Ms: percentile(run.passMs, 50),
      p99Ms: percentile(run.passMs, 99),
    },
    { kind: 'fold', passes: run.passes, elapsedMs: run.elapsedMs },
  );
}

/** The fold alone, in this process: no database, no I/O, the same bot session every pass. */
function measureFolds(options: Run): Measured {
  const seed = 'replay-bench-fold';
  const inputs = playSession(seed, {}, options.foldEvents, 'replay-bench-fold-bot');
  const session = foldSessionFor(seed, {});
  const plain = toReplayEvents(inputs);
  const chained = withHashChain(session, plain);
  const n = options.foldEvents.toLocaleString('en-US');
  options.log(`fold in process, ${n}-event bot session, ${options.foldDurationMs} ms each`);
  const { foldDurationMs: duration, foldWarmupMs: warmup } = options;
  const bare = measureFold(archiveGateV1, session, plain, duration, warmup);
  const checked = measureFold(archiveGateV1, session, chained, duration, warmup);
  const expected = stateHash(foldGateEvents(seed, {}, inputs));
  const problems = [bare, checked]
    .filter((run) => run.stateHash !== expected)
    .map((run) => `fold: state hash ${run.stateHash}, the bot's own fold gives ${expected}`);
  return {
    rows: [
      foldRow(options.log, 'fold', `fold in process, ${n}-event session`, bare),
      foldRow(options.log, 'fold-chain', 'fold in process, with hash chain check', checked),
    ],
    problems,
  };
}

function childRow(mode: ChildMode, label: string, runs: ChildResult[]): ReplayRow {
  return replayRow(
    { scenario: mode, label, events: runs[0]?.events ?? 0 },
    {
      eventsPerSec: median(runs.map((r) => (r.events * 1000) / r.ms)),
      ms: median(runs.map((r) => r.ms)),
      maxRssMb: median(runs.map((r) => r.maxRssMb)),
      baseRssMb: median(runs.map((r) => r.baseRssMb)),
    },
    { kind: 'child', runs },
  );
}

/** Genesis replays and raw reads of the big session, interleaved, each in a fresh process. */
async function measureGenesis(
  options: Run,
  url: string,
  tenantId: string,
  big: FilledSession,
): Promise<Measured & { stateHashes: string[] }> {
  const agateRuns: ChildResult[] = [];
  const rawRuns: ChildResult[] = [];
  const child = compileChild();
  for (let run = 1; run <= options.genesisRuns; run += 1) {
    for (const mode of ['agate-genesis', 'raw-read'] as const) {
      const result = await runChild(child, { mode, url, tenantId, sessionId: big.sessionId });
      options.log(
        `  ${mode} run ${run}: ${Math.round(result.ms)} ms, ${Math.round((result.events * 1000) / result.ms)} events/s, max RSS ${Math.round(result.maxRssMb)} MB`,
      );
      (mode === 'agate-genesis' ? agateRuns : rawRuns).push(result);
    }
  }
  const n = big.events.toLocaleString('en-US');
  const agate = childRow('agate-genesis', `agate replay from genesis, ${n} events`, agateRuns);
  const raw = childRow('raw-read', 'raw keyset read, pages of 1,000', rawRuns);
  const ratio = (agate.eventsPerSec ?? Number.NaN) / (raw.eventsPerSec ?? Number.NaN);
  const problems = [...agateRuns, ...rawRuns]
    .filter((r) => r.events !== big.events)
    .map((r) => `${r.mode}: ${r.events} events, the session has ${big.events}`);
  const stateHashes = agateRuns.flatMap((r) => (r.stateHash === null ? [] : [r.stateHash]));
  return { rows: [{ ...agate, ratioToRaw: ratio }, raw], problems, stateHashes };
}

async function measureTail(
  options: Run,
  agate: Agate,
  tenantId: string,
  session: FilledSession,
): Promise<Measured & { stateHash: string }> {
  const timing = { tail: options.tail, warmups: options.warmups, samples: options.samples };
  const replays = await timeTailReplays(agate, tenantId, session, timing);
  const n = session.events.toLocaleString('en-US');
  const row = replayRow(
    {
      scenario: `snapshot-tail-${session.events}`,
      label: `current state, snapshot + ${options.tail}-event tail, ${n} events`,
      events: session.events,
    },
    { p50Ms: percentile(replays.latenciesMs, 50), p99Ms: percentile(replays.latenciesMs, 99) },
    {
      kind: 'tail',
      snapshotSequence: session.snapshotSequence,
      fillMs: session.fillMs,
      latenciesMs: replays.latenciesMs,
    },
  );
  options.log(
    `  ${row.label}: p50 ${fixed(row.p50Ms ?? Number.NaN, 2)} ms, p99 ${fixed(row.p99Ms ?? Number.NaN, 2)} ms`,
  );
  return { rows: [row], problems: replays.problems, stateHash: replays.last.stateHash };
}

async function fillAll(options: Run, agate: Agate, tenantId: string): Promise<FilledSession[]> {
  const filled: FilledSession[] = [];
  for (const size of options.sessionSizes) {
    const session = await fillSession(agate, tenantId, size, options.tail);
    options.log(`  ${size} events stored in ${Math.round(session.fillMs)} ms`);
    filled.push(session);
  }
  // Settles hint bits and statistics, so the first reader does not pay for the bulk load.
  await agate.pool.query('VACUUM (ANALYZE) game.events');
  return filled;
}

async function measureDatabase(options: Run): Promise<Measured> {
  return withBenchDatabase(options.adminUrl, async (db) => {
    const pool = createPool({ connectionString: db.url, max: 2, applicationName: 'agate-bench' });
    try {
      const agate = createAgate({ pool, games: defaultGames, consumers: false });
      const tenant = await createTenant(pool, { name: 'replay bench tenant', actor: 'bench' });
      options.log(`storing sessions of ${options.sessionSizes.join(', ')} events`);
      const filled = await fillAll(options, agate, tenant.id);
      const big = filled.find((s) => s.events === options.bigSession);
      if (big === undefined) throw new Error('the big session was not stored');
      options.log(`genesis replay of ${big.events} events, ${options.genesisRuns} run(s) each`);
      const genesis = await measureGenesis(options, db.url, tenant.id, big);
      options.log('current state without Redis: snapshot + tail');
      const rows = [...genesis.rows];
      const problems = [...genesis.problems];
      for (const session of filled) {
        const tail = await measureTail(options, agate, tenant.id, session);
        rows.push(...tail.rows);
        problems.push(...tail.problems);
        if (session === big) {
          const differing = genesis.stateHashes.filter((h) => h !== tail.stateHash);
          if (genesis.stateHashes.length === 0 || differing.length > 0) {
            problems.push(
              `state hash from snapshot + tail ${tail.stateHash}, from genesis ${genesis.stateHashes.join(', ')}`,
            );
          }
        }
      }
      return { rows, problems };
    } finally {
      await pool.end();
    }
  });
}

export type ReplayMeasured = Measured;

/** The fold rows, then the stored sessions' rows; every check's failure is in `problems`. */
export async function measureReplay(
  options: ReplayOptions,
  log: (line: string) => void,
): Promise<ReplayMeasured> {
  const run: Run = { ...options, log };
  const folds = measureFolds(run);
  const stored = await measureDatabase(run);
  return {
    rows: [...folds.rows, ...stored.rows],
    problems: [...folds.problems, ...stored.problems],
  };
}
