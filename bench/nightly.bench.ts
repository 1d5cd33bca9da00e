// The nightly job of agate over sessions that moved yesterday: snapshots written inline, or through
// the snapshot queue with one and two worker processes; then the current state of a session from
// the Redis hot cache next to the newest snapshot plus its tail.
// Usage: npx tsx bench/nightly.bench.ts [--quick]
//   (AGATE_BENCH_ADMIN_URL picks the PostgreSQL server, AGATE_BENCH_REDIS_URL the Redis one)
import { loadavg } from 'node:os';
import { createCacheHealth, createRedis, hotStateAfterAppend } from '../src/cache/index.js';
import { createPool } from '../src/db/index.js';
import type { Pool } from '../src/db/index.js';
import { defaultGames } from '../src/game/index.js';
import { createAgate } from '../src/runtime/index.js';
import { createTenant } from '../src/tenants/index.js';
import { withBenchDatabase } from './support/bench-database.js';
import { deleteKeysWithPrefix, uniqueRedisPrefix } from './support/bench-redis.js';
import { fillHotSessions, timeCurrentState } from './support/current-state-timing.js';
import { withDatabaseCopy } from './support/database-copy.js';
import {
  currentStateRow,
  formatCurrentStateTable,
  formatNightlyTable,
} from './support/nightly-report.js';
import type { CurrentStateRow } from './support/nightly-report.js';
import { nightlyVariants, runVariant } from './support/nightly-variants.js';
import type { NightlyRun } from './support/nightly-variants.js';
import { fixed, whole } from './support/report.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';
import { loadSessionsAt } from './support/yesterday-sessions.js';
import type { LoadedSession } from './support/yesterday-sessions.js';

type Range = { min: number; max: number };

type Options = {
  quick: boolean;
  adminUrl: string;
  redisUrl: string;
  /** Sessions the nightly run finds, each with `events` events stamped yesterday. */
  sessions: number;
  events: Range;
  /** Snapshot jobs each worker process runs at once (`agate worker`'s default). */
  workerConcurrency: number;
  waitTimeoutMs: number;
  hotSessions: number;
  hotEvents: Range;
  /** Events per append while filling the hot sessions. */
  hotBatch: number;
  warmups: number;
  calls: number;
};

type LoadInfo = { sessions: number; events: number; ms: number; stampedAt: string };
type Measured<T> = T & { problems: string[] };

class CheckFailed extends Error {}

const dayMs = 86_400_000;

function parseOptions(args: readonly string[]): Options {
  const unknown = args.filter((a) => a !== '--quick');
  if (unknown.length > 0) {
    throw new Error(`Unknown argument(s) ${unknown.join(' ')}; the only option is --quick.`);
  }
  const quick = args.includes('--quick');
  return {
    quick,
    adminUrl: process.env.AGATE_BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.AGATE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    sessions: quick ? 1_000 : 10_000,
    events: { min: 15, max: 25 },
    workerConcurrency: 2,
    waitTimeoutMs: quick ? 120_000 : 900_000,
    hotSessions: 200,
    hotEvents: { min: 115, max: 125 },
    hotBatch: 10,
    warmups: 5,
    calls: 500,
  };
}

/** Session `i` gets min + (i mod (max - min + 1)) events: the mean is the middle of the range. */
function spread(range: Range): (index: number) => number {
  return (index) => range.min + (index % (range.max - range.min + 1));
}

/** Each session's events after its newest snapshot, averaged: the tail a replay folds. */
async function averageTail(pool: Pool): Promise<number> {
  const r = await pool.query<{ tail: number }>(
    `SELECT avg(s.last_sequence - coalesce(
              (SELECT max(n.sequence) FROM game.snapshots n WHERE n.session_id = s.id), 0))::float8 AS tail
       FROM game.sessions s`,
  );
  return r.rows[0]?.tail ?? Number.NaN;
}

/**
 * Loads the sessions once into a template database, then times each variant on its own copy of
 * it (the audit log is append-only, so every run needs a fresh database).
 */
async function measureNightly(
  options: Options,
  prefix: string,
): Promise<Measured<{ runs: NightlyRun[]; load: LoadInfo }>> {
  return withBenchDatabase(options.adminUrl, async (template) => {
    const now = new Date();
    const at = new Date(now.getTime() - dayMs);
    const pool = createPool({
      connectionString: template.url,
      max: 2,
      applicationName: 'agate-bench',
    });
    let load: LoadInfo;
    let sessions: LoadedSession[];
    try {
      const tenant = await createTenant(pool, { name: 'nightly bench tenant', actor: 'bench' });
      const loaded = await loadSessionsAt(pool, {
        tenantId: tenant.id,
        count: options.sessions,
        eventsOf: spread(options.events),
        at,
        seedPrefix: 'nightly-bench',
      });
      sessions = loaded.sessions;
      load = {
        sessions: sessions.length,
        events: loaded.events,
        ms: loaded.ms,
        stampedAt: at.toISOString(),
      };
    } finally {
      await pool.end();
    }
    console.log(
      `  loaded ${whole(load.sessions)} sessions, ${whole(load.events)} events stamped ${load.stampedAt}, in ${whole(load.ms)} ms`,
    );
    const runs: NightlyRun[] = [];
    for (const variant of nightlyVariants) {
      const ctx = {
        redisUrl: options.redisUrl,
        prefix,
        sessions,
        now,
        workerConcurrency: options.workerConcurrency,
        waitTimeoutMs: options.waitTimeoutMs,
      };
      const run = await withDatabaseCopy(options.adminUrl, template.name, (db) =>
        runVariant(variant, { ...ctx, url: db.url }),
      );
      console.log(
        `  ${run.label}: ${whole(run.wallMs)} ms, ${whole(run.sessionsPerSec)} sessions/s (runNightly returned after ${whole(run.nightlyMs)} ms) ${JSON.stringify(run.summary.durationsMs)}`,
      );
      runs.push(run);
    }
    const problems = runs.flatMap((r) => r.problems);
    const digests = new Set(runs.map((r) => r.snapshotDigest));
    if (digests.size !== 1) problems.push(`the variants wrote different snapshot states`);
    return { runs, load, problems };
  });
}

async function measureCurrentState(
  options: Options,
  prefix: string,
): Promise<Measured<{ rows: CurrentStateRow[]; fill: Record<string, number> }>> {
  return withBenchDatabase(options.adminUrl, async (db) => {
    const pool = createPool({ connectionString: db.url, max: 4, applicationName: 'agate-bench' });
    const health = createCacheHealth();
    const redis = createRedis(options.redisUrl, { keyPrefix: `${prefix}-hot:`, health });
    try {
      const agate = createAgate({
        pool,
        games: defaultGames,
        afterAppend: [(a) => hotStateAfterAppend(a, redis, health)],
      });
      const tenant = await createTenant(pool, { name: 'current state bench', actor: 'bench' });
      const filled = await fillHotSessions(agate, tenant.id, {
        count: options.hotSessions,
        eventsOf: spread(options.hotEvents),
        batch: options.hotBatch,
      });
      await pool.query('VACUUM (ANALYZE) game.sessions, game.events, game.snapshots');
      const tail = await averageTail(pool);
      console.log(
        `  ${filled.refs.length} sessions, ${whole(filled.events)} events in ${whole(filled.appends)} appends of ${options.hotBatch} (snapshots inline, hot state to Redis) in ${whole(filled.fillMs)} ms; average tail after the newest snapshot ${fixed(tail, 1)} events`,
      );
      const problems =
        health.errors > 0
          ? [`hot state: ${health.errors} cache error(s): ${health.lastError}`]
          : [];
      const timing = { warmups: options.warmups, calls: options.calls };
      const times = await timeCurrentState(agate, redis, health, filled.refs, timing);
      const sessions = filled.refs.length;
      const mean = fixed(filled.events / sessions, 0);
      const rows = [
        currentStateRow(
          { scenario: 'cache-hit', label: `cache hit (Redis), ~${mean} events`, sessions },
          times.cacheMs,
        ),
        currentStateRow(
          {
            scenario: 'snapshot-tail',
            label: `snapshot + tail (no Redis), tail ~${fixed(tail, 1)}`,
            sessions,
          },
          times.replayMs,
        ),
      ];
      for (const row of rows) {
        console.log(`  ${row.label}: p50 ${fixed(row.p50Ms, 2)} ms, p99 ${fixed(row.p99Ms, 2)} ms`);
      }
      const fill = { events: filled.events, appends: filled.appends, fillMs: filled.fillMs, tail };
      return { rows, fill, problems: [...problems, ...times.problems] };
    } finally {
      redis.disconnect();
      await pool.end();
    }
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const prefix = uniqueRedisPrefix('nightly');
  const loadStart = loadavg();
  console.log(
    `agate nightly bench${options.quick ? ' (quick)' : ''}: ${whole(options.sessions)} sessions of ${options.events.min}-${options.events.max} events, Redis prefix ${prefix}, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  let nightly: Awaited<ReturnType<typeof measureNightly>>;
  let current: Awaited<ReturnType<typeof measureCurrentState>>;
  try {
    console.log('nightly run');
    nightly = await measureNightly(options, prefix);
    console.log(`current state, ${options.calls} calls each after ${options.warmups} warm-ups`);
    current = await measureCurrentState(options, prefix);
  } finally {
    const removed = await deleteKeysWithPrefix(options.redisUrl, prefix);
    console.log(`redis: removed ${removed} key(s) under ${prefix}`);
  }
  console.log(`\n${formatNightlyTable(nightly.runs)}\n`);
  console.log(`${formatCurrentStateTable(current.rows)}\n`);
  const problems = [...nightly.problems, ...current.problems];
  if (problems.length > 0) {
    throw new CheckFailed(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
  }
  console.log('checks: ok');
  const shown = {
    ...options,
    adminUrl: shownUrl(options.adminUrl),
    redisUrl: shownUrl(options.redisUrl),
  };
  const machine = await machineInfo(options.adminUrl);
  const loadAverage = { start: loadStart, end: loadavg() };
  const body = {
    date: started.toISOString(),
    options: shown,
    machine: { ...machine, loadAverage },
    load: nightly.load,
    nightly: nightly.runs,
    currentState: { fill: current.fill, rows: current.rows },
  };
  console.log(`results: ${await writeResultsFile('nightly', started, body)}`);
}

try {
  await main();
} catch (error) {
  console.error(error instanceof CheckFailed ? error.message : error);
  process.exitCode = 1;
}
