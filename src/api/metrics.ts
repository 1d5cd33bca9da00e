import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheHealth } from '../cache/index.js';
import type { Pool } from '../db/index.js';
import { isAgateError } from '../errors/index.js';
import type { AppendResult } from '../events/index.js';
import {
  integrityDivergences,
  nightlyLastSuccess,
  partitionsAhead,
  snapshotLag,
  verifyBacklogSessions,
} from './metrics-queries.js';

/** The refusals of an append that are races between writers, counted on their own. */
const conflictCodes = ['sequence_conflict', 'event_id_conflict', 'session_ended'] as const;

/** Longest a scrape waits for one database gauge before reporting it as -1. */
const gaugeDeadlineMs = 3_000;

type ScrapeLogger = { warn(details: object, message: string): void };

export type ApiMetricsOptions = {
  pool: Pool;
  cacheHealth: CacheHealth;
  /** Where a gauge that could not be read is reported (the scrape itself still succeeds). */
  logger: ScrapeLogger;
  /** How many `GET /v1/feed` streams are open now (default: none are counted). */
  openFeedStreams?: () => number;
  /** The clock for "the current month" of the partition gauge (default: the wall clock). */
  now?: () => Date;
};

/** One server's metrics, on its own registry: several servers in one process never clash. */
export type ApiMetrics = {
  registry: Registry;
  appends: Counter<'result'>;
  eventsAppended: Counter;
  appendConflicts: Counter<'code'>;
  appendSeconds: Histogram;
  replaySeconds: Histogram<'from'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
};

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A gauge read from the database at scrape time; -1 (and a warning) when it cannot be read. */
function databaseGauge(
  registry: Registry,
  spec: { name: string; help: string },
  read: () => Promise<number>,
  logger: ScrapeLogger,
): Gauge {
  return new Gauge({
    ...spec,
    registers: [registry],
    async collect() {
      try {
        this.set(await withDeadline(read(), gaugeDeadlineMs));
      } catch (error) {
        logger.warn({ err: error, metric: spec.name }, 'metric not read; reported as -1');
        this.set(-1);
      }
    },
  });
}

/** A counter kept elsewhere (the cache's health), copied in at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number) {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function recordingMetrics(registry: Registry): ApiMetrics {
  const registers = [registry];
  const metrics: ApiMetrics = {
    registry,
    appends: new Counter({
      name: 'agate_appends_total',
      help: 'Append and end requests by result: stored, duplicate (a retry), or the refusal code.',
      labelNames: ['result'],
      registers,
    }),
    eventsAppended: new Counter({
      name: 'agate_events_appended_total',
      help: 'Events newly stored by appends and ends (retried duplicates not counted).',
      registers,
    }),
    appendConflicts: new Counter({
      name: 'agate_append_conflicts_total',
      help: 'Appends refused because another writer got there first, by code.',
      labelNames: ['code'],
      registers,
    }),
    appendSeconds: new Histogram({
      name: 'agate_append_duration_seconds',
      help: 'Time to append a batch (or end a session) in the store, whatever the outcome.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    replaySeconds: new Histogram({
      name: 'agate_replay_duration_seconds',
      help: 'Time of successful replays through the replay route, by where they start.',
      labelNames: ['from'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    httpRequests: new Counter({
      name: 'agate_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
  };
  // Present from the start, so that rates and alerts see a zero rather than no series.
  for (const result of ['stored', 'duplicate']) metrics.appends.inc({ result }, 0);
  for (const code of conflictCodes) metrics.appendConflicts.inc({ code }, 0);
  for (const from of ['genesis', 'snapshot']) metrics.replaySeconds.zero({ from });
  return metrics;
}

/**
 * A registry with the default Node process metrics, the append, replay and HTTP metrics the
 * routes record, and gauges read at scrape time: cache hits, misses and errors, the snapshot
 * lag, the months of game.events partitions ahead, and the nightly audit's divergences, last
 * success and full-verification backlog.
 */
export function createApiMetrics(options: ApiMetricsOptions): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { cacheHealth, logger, pool } = options;
  const now = options.now ?? (() => new Date());
  const openFeedStreams = options.openFeedStreams ?? (() => 0);
  new Gauge({
    name: 'agate_feed_streams_open',
    help: 'Server-Sent Event streams of GET /v1/feed open now.',
    registers: [registry],
    collect() {
      this.set(openFeedStreams());
    },
  });
  mirroredCounter(
    registry,
    'agate_cache_hits_total',
    'Hot-state reads served from Redis.',
    () => cacheHealth.hits,
  );
  mirroredCounter(
    registry,
    'agate_cache_misses_total',
    'Hot-state reads that had to replay (stale, missing, or no Redis).',
    () => cacheHealth.misses,
  );
  mirroredCounter(
    registry,
    'agate_cache_errors_total',
    'Redis failures while reading or writing hot state.',
    () => cacheHealth.errors,
  );
  databaseGauge(
    registry,
    {
      name: 'agate_snapshot_lag_events',
      help: 'Most events past the newest snapshot among sessions updated in the last hour (-1: not read).',
    },
    () => snapshotLag(pool),
    logger,
  );
  databaseGauge(
    registry,
    {
      name: 'agate_partitions_ahead_months',
      help: 'Consecutive months after the current one with a game.events partition (-1: not read).',
    },
    () => partitionsAhead(pool, now()),
    logger,
  );
  databaseGauge(
    registry,
    {
      name: 'agate_integrity_divergences',
      help: 'Divergences the nightly audit has recorded (each once; see admin.integrity_findings) (-1: not read).',
    },
    () => integrityDivergences(pool),
    logger,
  );
  databaseGauge(
    registry,
    {
      name: 'agate_nightly_last_success_timestamp_seconds',
      help: 'When the last nightly run completed, Unix time; 0 when none has (-1: not read).',
    },
    () => nightlyLastSuccess(pool),
    logger,
  );
  databaseGauge(
    registry,
    {
      name: 'agate_verify_backlog_sessions',
      help: 'Sessions the rolling full re-verification has not reached in its current pass (-1: not read).',
    },
    () => verifyBacklogSessions(pool),
    logger,
  );
  return recordingMetrics(registry);
}

const seconds = (startedAt: number) => (performance.now() - startedAt) / 1000;

/**
 * Runs one append (or end) and records it: its result, the events it stored, a conflict, and
 * its duration. Thrown refusals are counted by their code and thrown on.
 */
export async function measureAppend(
  metrics: ApiMetrics,
  append: () => Promise<AppendResult>,
): Promise<AppendResult> {
  const startedAt = performance.now();
  let result: AppendResult;
  try {
    result = await append();
  } catch (error) {
    metrics.appendSeconds.observe(seconds(startedAt));
    metrics.appends.inc({ result: isAgateError(error) ? error.code : 'internal' });
    throw error;
  }
  metrics.appendSeconds.observe(seconds(startedAt));
  if (!result.ok) {
    metrics.appends.inc({ result: result.reason });
    if (result.reason !== 'session_not_found') metrics.appendConflicts.inc({ code: result.reason });
  } else if (result.duplicate) {
    metrics.appends.inc({ result: 'duplicate' });
  } else {
    metrics.appends.inc({ result: 'stored' });
    metrics.eventsAppended.inc(result.events.length);
  }
  return result;
}

/** Runs one replay and records its duration under where it started (genesis or snapshot). */
export async function measureReplay<T>(
  metrics: ApiMetrics,
  from: 'genesis' | 'snapshot',
  replay: () => Promise<T>,
): Promise<T> {
  const startedAt = performance.now();
  const result = await replay();
  metrics.replaySeconds.observe({ from }, seconds(startedAt));
  return result;
}
