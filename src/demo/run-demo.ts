import type { Redis } from 'ioredis';
import { createCacheHealth, readLeaderboard } from '../cache/index.js';
import type { CacheHealth, LeaderboardEntry } from '../cache/index.js';
import { AgateError } from '../errors/index.js';
import { queueDispatch, runNightly } from '../jobs/nightly/index.js';
import type { NightlyStage } from '../jobs/nightly/index.js';
import type { Agate } from '../runtime/index.js';
import { createTenant } from '../tenants/index.js';
import { checkDemoSession, replayFromSnapshot } from './check-demo-session.js';
import type { FromSnapshot } from './check-demo-session.js';
import { demoRules, planDemoSession } from './demo-plan.js';
import { awaitSnapshots, countSnapshots, startDemoWorker } from './demo-snapshots.js';
import type { DemoQueue } from './demo-snapshots.js';
import { nightlyPart, summarize } from './demo-summary.js';
import type { DemoNightly, DemoSummary } from './demo-summary.js';
import { forEachConcurrently } from './for-each-concurrently.js';
import { playDemoSession } from './play-demo-session.js';
import type { PlayedSession } from './play-demo-session.js';

export type DemoStage =
  'sessions' | 'snapshots' | 'from_snapshot' | `nightly ${NightlyStage}` | 'verify' | 'leaderboard';

/** Redis as `openAgate` wires it: the snapshot queue, and the client for the leaderboard. */
export type DemoRedis = DemoQueue & { client: Redis; health: CacheHealth };

export type DemoOptions = {
  seed: string;
  sessions: number;
  /** Sessions played (and replayed) at once, each by one writer (default 4). */
  concurrency?: number;
  /** The database `agate` was opened on (DATABASE_URL or the embedded one): the nightly job's. */
  databaseUrl: string;
  /** With Redis: the nightly's snapshots through the queue (a worker runs in this process), the hot state and the board in Redis. */
  redis?: DemoRedis | null;
  onProgress?: (stage: DemoStage, done: number, total: number) => void;
};

export const maxDemoSessions = 1_000;

/** The first instant of the next UTC day: a nightly clock that is past every event just written. */
function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

function checkOptions(options: DemoOptions): void {
  const { seed, sessions } = options;
  if (typeof seed !== 'string' || seed.length === 0 || seed.length > 100) {
    throw new AgateError('invalid_request', 'The demo seed must be 1 to 100 characters.');
  }
  if (!Number.isSafeInteger(sessions) || sessions < 1 || sessions > maxDemoSessions) {
    throw new AgateError(
      'invalid_request',
      `The demo plays 1 to ${maxDemoSessions} sessions; ask for a number in that range.`,
    );
  }
}

async function timed<T>(durations: Record<string, number>, name: string, work: () => Promise<T>) {
  const started = performance.now();
  const result = await work();
  durations[name] = Math.round(performance.now() - started);
  return result;
}

/**
 * The whole system on one seed: a new tenant; `sessions` bot players of archive-gate appending
 * through the store (concurrent writers, one per session, with retried batches); every snapshot
 * the appends called for, once agate's own consumers are idle; a replay of each session from its newest snapshot (before the nightly
 * job writes one at each session's head, so the replay still has a tail to fold); the nightly
 * job, inline, its clock at the next UTC midnight (the store stamps events with the server's
 * time, so the game's own days are what spans "several days"); a verified replay of every
 * session from genesis; the verified leaderboard. State hashes depend on the seed alone.
 */
export async function runDemo(agate: Agate, options: DemoOptions): Promise<DemoSummary> {
  checkOptions(options);
  const redis = options.redis ?? null;
  const worker = redis === null ? null : startDemoWorker(agate, redis);
  try {
    return await demoSteps(agate, options, redis);
  } finally {
    await worker?.close();
  }
}

async function demoSteps(
  agate: Agate,
  options: DemoOptions,
  redis: DemoRedis | null,
): Promise<DemoSummary> {
  const concurrency = options.concurrency ?? 4;
  const durationsMs: Record<string, number> = {};
  const progress = (stage: DemoStage) => (done: number, total: number) =>
    options.onProgress?.(stage, done, total);
  // Each session is worked on by one writer at a time, so its hashes cannot depend on the others.
  const each = <T, R>(stage: DemoStage, items: readonly T[], work: (item: T) => Promise<R>) =>
    timed(durationsMs, stage, () => forEachConcurrently(items, concurrency, work, progress(stage)));
  const started = performance.now();
  const { id: tenantId } = await createTenant(agate.pool, {
    name: `agate demo (seed ${options.seed})`,
    actor: 'agate demo',
  });
  const plans = Array.from({ length: options.sessions }, (_, i) =>
    planDemoSession(options.seed, i),
  );
  const played = await each('sessions', plans, (plan) => playDemoSession(agate, tenantId, plan));
  await timed(durationsMs, 'snapshots', () =>
    awaitSnapshots(agate, tenantId, expectedSnapshots(played), progress('snapshots')),
  );
  const fromSnapshot = await each('from_snapshot', played, (p) =>
    replayFromSnapshot(agate, tenantId, p.id),
  );
  const nightly = await timed(durationsMs, 'nightly', () => nightlyStep(agate, options, redis));
  const pairs = played.map((p, i) => ({ p, f: fromSnapshot[i] as FromSnapshot }));
  const checked = await each('verify', pairs, ({ p, f }) =>
    checkDemoSession(agate, tenantId, p, f),
  );
  const leaderboard = await timed(durationsMs, 'leaderboard', () =>
    leaderboardStep(agate, tenantId, redis, progress('leaderboard')),
  );
  const snapshots = await countSnapshots(agate, tenantId);
  durationsMs.total = Math.round(performance.now() - started);
  const { seed } = options;
  const queue = redis !== null;
  return summarize({
    seed,
    tenantId,
    rules: demoRules,
    concurrency,
    queue,
    played,
    fromSnapshot,
    checked,
    snapshots,
    nightly,
    leaderboard,
    durationsMs,
  });
}

function expectedSnapshots(played: readonly PlayedSession[]): number {
  return played.reduce((n, p) => n + p.snapshotBoundaries, 0);
}

async function nightlyStep(
  agate: Agate,
  options: DemoOptions,
  redis: DemoRedis | null,
): Promise<DemoNightly> {
  const result = await runNightly(agate, options.databaseUrl, {
    now: nextUtcMidnight(new Date()),
    dispatch: redis === null ? undefined : queueDispatch(agate, redis.producer),
    settleTimeoutMs: 120_000,
    onProgress: (stage, done, total) => options.onProgress?.(`nightly ${stage}`, done, total),
  });
  return nightlyPart(result);
}

async function leaderboardStep(
  agate: Agate,
  tenantId: string,
  redis: DemoRedis | null,
  onProgress: (done: number, total: number) => void,
): Promise<LeaderboardEntry[]> {
  onProgress(0, 1);
  const top = await readLeaderboard(
    agate,
    redis?.client ?? null,
    redis?.health ?? createCacheHealth(),
    { tenantId, rules: demoRules, limit: 5 },
  );
  onProgress(1, 1);
  return top;
}
