// The feed of agate: catch-up over a tenant's whole feed (its own pages, and a durable consumer)
// next to a plain keyset read of the same rows; commit-to-consumer latency under 32 writers; and
// the append rate with consumers running next to without, all in one run.
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { withBenchDatabase } from './bench-database.js';
import { createDeliveryLedger } from './delivery-ledger.js';
import { consumeWholeFeed, readRaw, readWholeFeed, waitForHorizon } from './feed-catch-up.js';
import { fillFeed } from './feed-fill.js';
import type { FilledFeed, FillOptions } from './feed-fill.js';
import { measureLive } from './feed-live.js';
import { feedRow } from './feed-report.js';
import type { LiveOptions } from './feed-live.js';
import type { FeedRow, FeedScenario } from './feed-report.js';
import { deleteKeysWithPrefix, uniqueRedisPrefix } from './bench-redis.js';
import { median, whole } from './report.js';

export type FeedOptions = {
  adminUrl: string;
  redisUrl: string;
  /** The catch-up tenant: sessions × eventsPerSession events, filled by `clients` appenders. */
  fill: Omit<FillOptions, 'seedPrefix'>;
  /** Timed reads of each kind, interleaved. */
  catchUpRuns: number;
  /** How long the catch-up waits for older transactions elsewhere on the server to end. */
  horizonTimeoutMs: number;
  /** The latency and append-rate rows: `writers` clients appending single events. */
  live: LiveOptions;
};

export type FeedMeasured = { rows: FeedRow[]; fill: Record<string, number>; problems: string[] };
type Run = FeedOptions & { log: (line: string) => void };

type Reader = {
  scenario: FeedScenario;
  label: string;
  read: (filled: FilledFeed, ledger: ReturnType<typeof createDeliveryLedger>) => Promise<void>;
};

type ReadRun = { ms: number; delivered: number; problems: string[] };

async function timedRead(reader: Reader, filled: FilledFeed): Promise<ReadRun> {
  const ledger = createDeliveryLedger(filled.sessions);
  const t0 = performance.now();
  await reader.read(filled, ledger);
  const ms = performance.now() - t0;
  return { ms, delivered: ledger.delivered(), problems: ledger.problems(reader.scenario) };
}

function catchUpReaders(pool: Pool, ownerPool: Pool): Reader[] {
  let consumers = 0;
  return [
    {
      scenario: 'raw-keyset',
      label: 'raw keyset read (session, sequence), pages of 1,000',
      read: (_, ledger) => readRaw(ownerPool, ledger),
    },
    {
      scenario: 'feed-pages',
      label: 'feed catch-up, readFeed pages of 1,000',
      read: (filled, ledger) => readWholeFeed(pool, filled.tenantId, ledger),
    },
    {
      scenario: 'feed-consumer',
      label: 'feed catch-up, a new consumer until idle, batches of 1,000',
      read: (filled, ledger) => {
        consumers += 1;
        return consumeWholeFeed(pool, filled.tenantId, `bench-catch-up-${consumers}`, ledger);
      },
    },
  ];
}

function catchUpRows(
  readers: readonly Reader[],
  runs: Map<FeedScenario, ReadRun[]>,
  events: number,
) {
  const perSec = (scenario: FeedScenario) =>
    median((runs.get(scenario) ?? []).map((r) => (r.delivered * 1000) / r.ms));
  const raw = perSec('raw-keyset');
  return readers.map((reader) => {
    const measured = runs.get(reader.scenario) ?? [];
    const eventsPerSec = perSec(reader.scenario);
    return feedRow(reader.scenario, reader.label, {
      events,
      eventsPerSec,
      ratio: reader.scenario === 'raw-keyset' ? null : eventsPerSec / raw,
      ratioOf: 'feed/raw',
      note: `${whole(median(measured.map((r) => r.ms)))} ms`,
      runs: measured,
    });
  });
}

async function measureCatchUp(options: Run): Promise<FeedMeasured> {
  return withBenchDatabase(options.adminUrl, async (db) => {
    const { clients } = options.fill;
    const pool = createPool({
      connectionString: db.url,
      max: clients,
      applicationName: 'agate-bench',
    });
    const ownerPool = createPool({
      connectionString: db.url,
      max: 1,
      applicationName: 'agate-bench-raw',
    });
    try {
      const agate = createAgate({ pool, games: defaultGames, consumers: false });
      const tenant = await createTenant(pool, { name: 'feed bench tenant', actor: 'bench' });
      const filled = await fillFeed(agate, tenant.id, {
        ...options.fill,
        seedPrefix: 'feed-bench',
      });
      options.log(
        `  ${whole(filled.events)} events of ${whole(filled.sessions.size)} bot sessions in ${whole(filled.appends)} appends from ${clients} clients, ${whole(filled.fillMs)} ms`,
      );
      const horizonMs = await waitForHorizon(ownerPool, options.horizonTimeoutMs);
      if (horizonMs > 100) {
        options.log(
          `  waited ${whole(horizonMs)} ms for transactions open elsewhere on the server to end`,
        );
      }
      const readers = catchUpReaders(pool, ownerPool);
      // Untimed: brings the rows into the caches, so the first timed reader does not pay for it.
      await timedRead(readers[0] as Reader, filled);
      const runs = new Map<FeedScenario, ReadRun[]>();
      const problems: string[] = [];
      for (let run = 1; run <= options.catchUpRuns; run += 1) {
        for (const reader of readers) {
          const once = await timedRead(reader, filled);
          options.log(
            `  ${reader.scenario} run ${run}: ${whole(once.ms)} ms, ${whole((once.delivered * 1000) / once.ms)} events/s${once.problems.length === 0 ? ', checks: ok' : ', checks: FAILED'}`,
          );
          problems.push(...once.problems);
          runs.set(reader.scenario, [...(runs.get(reader.scenario) ?? []), once]);
        }
      }
      const fill = {
        events: filled.events,
        sessions: filled.sessions.size,
        appends: filled.appends,
        fillMs: filled.fillMs,
        horizonWaitMs: horizonMs,
      };
      return { rows: catchUpRows(readers, runs, filled.events), fill, problems };
    } finally {
      await ownerPool.end();
      await pool.end();
    }
  });
}

/** Every row of the feed part; every check's failure is in `problems`, not thrown. */
export async function measureFeed(
  options: FeedOptions,
  log: (line: string) => void,
): Promise<FeedMeasured> {
  const run: Run = { ...options, log };
  log(
    `  catch-up: ${whole(options.fill.sessions * options.fill.eventsPerSession)} events, ${options.catchUpRuns} timed run(s) of each reader`,
  );
  const catchUp = await measureCatchUp(run);
  const prefix = uniqueRedisPrefix('feed');
  try {
    const { writers, durationMs, runs } = options.live;
    log(
      `  append rate: ${writers} writers of single events, ${whole(durationMs)} ms, ${runs} run(s) of each; Redis prefix ${prefix}`,
    );
    const appends = await measureLive({ ...run, log }, prefix);
    return {
      rows: [...catchUp.rows, ...appends.rows],
      fill: catchUp.fill,
      problems: [...catchUp.problems, ...appends.problems],
    };
  } finally {
    const removed = await deleteKeysWithPrefix(options.redisUrl, prefix);
    log(`  redis: removed ${removed} key(s) under ${prefix}`);
  }
}
