import { placementState, replicaLagBytes } from '../placements/index.js';
import type { PlacedAgate } from '../placements/index.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheHealth } from '../cache/index.js';
import type { Pool } from '../db/index.js';
import { isAgateError } from '../errors/index.js';
import type { AppendResult } from '../events/index.js';
import { feedHorizon } from '../feed/index.js';
import type { FeedHolder } from '../feed/index.js';
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
  /** The placement database servers this process is configured with, for `agate_placement_up`. */
  placements?: () => readonly PlacedAgate[];
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
  replicaReads: Counter<'placement' | 'from'>;
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

const holderLabels = ['kind', 'pid', 'application_name', 'state', 'database', 'gid'] as const;

function labelsOf(holder: FeedHolder): Record<(typeof holderLabels)[number], string> {
  return {
    kind: holder.kind,
    pid: holder.pid === null ? '' : String(holder.pid),
    application_name: holder.applicationName ?? '',
    state: holder.state ?? '',
    database: holder.database ?? '',
    gid: holder.gid ?? '',
  };
}

/**
 * The feed's stall gauges (issue 16 item 6), read at scrape time with the pool's login (see
 * `feedHorizon`): the oldest open write transaction in the cluster, which holds every tenant's
 * feed back, as one series named by its backend (no series when none is open; -1 without labels
 * when not read; -1 with labels when the login may not see its start), and how many are open.
 */
function feedStallGauges(registry: Registry, pool: Pool, logger: ScrapeLogger): void {
  new Gauge({
    name: 'agate_feed_oldest_transaction_age_seconds',
    help: 'Age of the oldest open write transaction in the cluster, which holds every feed back until it ends; no series when none is open (-1: not read, or its start is hidden from the login: grant it pg_read_all_stats).',
    labelNames: holderLabels,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const { oldest } = await withDeadline(feedHorizon(pool), gaugeDeadlineMs);
        if (oldest !== null) this.set(labelsOf(oldest), oldest.ageSeconds ?? -1);
      } catch (error) {
        logger.warn(
          { err: error, metric: 'agate_feed_oldest_transaction_age_seconds' },
          'metric not read; reported as -1',
        );
        this.set(-1);
      }
    },
  });
  databaseGauge(
    registry,
    {
      name: 'agate_feed_open_write_transactions',
      help: 'Open transactions holding a transaction id in the cluster, prepared ones included: each may hold the feed back (-1: not read).',
    },
    async () => (await feedHorizon(pool)).openWriteTransactions,
    logger,
  );
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
    replicaReads: new Counter({
      name: 'agate_replica_reads_total',
      help: 'Replays and event reads of placements with a replica, by placement and where they were served (replica, or primary when the replica was behind the named sequence, away, or without the session).',
      labelNames: ['placement', 'from'],
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
 * lag, the months of game.events partitions ahead, the nightly audit's divergences, last
 * success and full-verification backlog, and the open transaction holding the feed back.
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
  feedStallGauges(registry, pool, logger);
  placementGauge(registry, options.placements ?? (() => []));
  return recordingMetrics(registry);
}

/** 1 when a placement's database answers at the expected migration, 0 when not (ADR 0032). */
function placementGauge(registry: Registry, placements: () => readonly PlacedAgate[]): void {
  new Gauge({
    name: 'agate_placement_up',
    help: 'Each configured placement database server: 1 answers at the expected migration, 0 down or behind (its tenants get 503 placement_unavailable).',
    labelNames: ['placement'],
    registers: [registry],
    async collect() {
      const servers = placements().filter((p) => p.placement !== 'shared');
      const up = await Promise.all(
        servers.map((p) =>
          withDeadline(placementState(p.agate), gaugeDeadlineMs).then(
            (state) => (state === 'up' ? 1 : 0),
            () => 0,
          ),
        ),
      );
      this.reset();
      servers.forEach((p, i) => this.set({ placement: p.placement }, up[i] ?? 0));
    },
  });
  new Gauge({
    name: 'agate_replica_lag_bytes',
    help: 'Each placement replica: WAL bytes the primary has written that the replica has not replayed (-1: not read).',
    labelNames: ['placement'],
    registers: [registry],
    async collect() {
      const replicated = placements().filter((p) => p.replica !== null);
      const lags = await Promise.all(
        replicated.map((p) => withDeadline(replicaLagBytes(p), gaugeDeadlineMs).catch(() => -1)),
      );
      this.reset();
      replicated.forEach((p, i) => this.set({ placement: p.placement }, lags[i] ?? -1));
    },
  });
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
