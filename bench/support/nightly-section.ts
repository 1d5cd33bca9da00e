// The nightly job of agate over sessions that moved yesterday: snapshots written inline, or through
// the snapshot queue with one and two worker processes; then the current state of a session from
// the Redis hot cache next to the newest snapshot plus its tail.
import { createCacheHealth, createRedis } from '../../src/cache/index.js';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { withBenchDatabase } from './bench-database.js';
import { deleteKeysWithPrefix, uniqueRedisPrefix } from './bench-redis.js';
import { fillHotSessions, timeCurrentState } from './current-state-timing.js';
import { withDatabaseCopy } from './database-copy.js';
import { currentStateRow } from './nightly-report.js';
import type { CurrentStateRow } from './nightly-report.js';
import { nightlyVariants, runVariant } from './nightly-variants.js';
import type { NightlyRun } from './nightly-variants.js';
import { fixed, whole } from './report.js';
import { loadSessionsAt } from './yesterday-sessions.js';
import type { LoadedSession } from './yesterday-sessions.js';

export type Range = { min: number; max: number };

export type NightlyOptions = {
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

export type LoadInfo = { sessions: number; events: number; ms: number; stampedAt: string };
type Measured<T> = T & { problems: string[] };
type Run = NightlyOptions & { log: (line: string) => void };

const dayMs = 86_400_000;

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
async function measureNightlyRuns(
  options: Run,
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
    options.log(
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
      options.log(
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
  options: Run,
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
        consumers: { redis: { client: redis, health } },
      });
      const tenant = await createTenant(pool, { name: 'current state bench', actor: 'bench' });
      const filled = await fillHotSessions(agate, tenant.id, {
        count: options.hotSessions,
        eventsOf: spread(options.hotEvents),
        batch: options.hotBatch,
      });
      // The snapshots and the hot state follow from the feed: wait for them before timing reads.
      await agate.idle();
      await agate.close();
      await pool.query('VACUUM (ANALYZE) game.sessions, game.events, game.snapshots');
      const tail = await averageTail(pool);
      options.log(
        `  ${filled.refs.length} sessions, ${whole(filled.events)} events in ${whole(filled.appends)} appends of ${options.hotBatch} (snapshots and hot state from agate's own consumers) in ${whole(filled.fillMs)} ms; average tail after the newest snapshot ${fixed(tail, 1)} events`,
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
        options.log(`  ${row.label}: p50 ${fixed(row.p50Ms, 2)} ms, p99 ${fixed(row.p99Ms, 2)} ms`);
      }
      const fill = { events: filled.events, appends: filled.appends, fillMs: filled.fillMs, tail };
      return { rows, fill, problems: [...problems, ...times.problems] };
    } finally {
      redis.disconnect();
      await pool.end();
    }
  });
}

export type NightlyMeasured = {
  runs: NightlyRun[];
  load: LoadInfo;
  currentState: { fill: Record<string, number>; rows: CurrentStateRow[] };
  problems: string[];
};

/** Both parts under one Redis prefix, whose keys are removed afterwards whatever happened. */
export async function measureNightly(
  options: NightlyOptions,
  log: (line: string) => void,
): Promise<NightlyMeasured> {
  const run: Run = { ...options, log };
  const prefix = uniqueRedisPrefix('nightly');
  try {
    log(
      `  nightly run: ${whole(options.sessions)} sessions of ${options.events.min}-${options.events.max} events, Redis prefix ${prefix}`,
    );
    const nightly = await measureNightlyRuns(run, prefix);
    log(`  current state, ${options.calls} calls each after ${options.warmups} warm-ups`);
    const current = await measureCurrentState(run, prefix);
    return {
      runs: nightly.runs,
      load: nightly.load,
      currentState: { fill: current.fill, rows: current.rows },
      problems: [...nightly.problems, ...current.problems],
    };
  } finally {
    const removed = await deleteKeysWithPrefix(options.redisUrl, prefix);
    log(`  redis: removed ${removed} key(s) under ${prefix}`);
  }
}
