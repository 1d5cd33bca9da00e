// What runs beside the writers in the latency and append-rate rows. "agate's own" is its
// consumers as a server with Redis runs them in process: snapshots, the Redis hot state and the
// verified leaderboards (createAgate's default, with Redis).
import { createCacheHealth, createRedis } from '../../src/cache/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import type { AppendVariant, Beside, BesideStopped } from './feed-append-rate.js';
import { startExternalConsumers } from './feed-consumers.js';
import type { ExternalConsumers } from './feed-consumers.js';
import { createLatencyRecorder, latencyProblems } from './feed-latency.js';
import type { LatencyRecorder } from './feed-latency.js';
import { notifyingInsideAppends } from './notifying-pool.js';
import { whole } from './report.js';

export type VariantContext = { redisUrl: string; prefix: string; catchUpTimeoutMs: number };

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `caughtUp`, timing it from the writers' end, then stops everything. */
async function stopAfter(
  caughtUp: () => Promise<void>,
  close: () => Promise<string[]>,
  options: { ms: number; what: string; recorder?: LatencyRecorder },
): Promise<BesideStopped> {
  const t0 = performance.now();
  const problems: string[] = [];
  try {
    await withDeadline(caughtUp(), options.ms, options.what);
  } catch (error) {
    problems.push(String(error));
  }
  const catchUpMs = performance.now() - t0;
  problems.push(...(await close()));
  const latency = options.recorder?.result() ?? null;
  if (latency !== null) problems.push(...latencyProblems(latency));
  return { catchUpMs, problems, latency };
}

function none(): AppendVariant {
  return {
    scenario: 'append-none',
    label: 'append rate, no consumers',
    start: ({ pool }) => {
      const agate = createAgate({ pool, games: defaultGames, consumers: false });
      return Promise.resolve({
        agate,
        stop: () =>
          stopAfter(
            () => Promise.resolve(),
            async () => {
              await agate.close();
              return [];
            },
            { ms: 0, what: 'nothing' },
          ),
      });
    },
  };
}

function ownAgate(ctx: VariantContext, pool: Parameters<typeof createAgate>[0]['pool']) {
  const health = createCacheHealth();
  const client = createRedis(ctx.redisUrl, { keyPrefix: `${ctx.prefix}-own:`, health });
  const agate = createAgate({
    pool,
    games: defaultGames,
    consumers: { redis: { client, health } },
  });
  const close = async (): Promise<string[]> => {
    await agate.close();
    client.disconnect();
    return health.errors > 0 ? [`${health.errors} cache error(s): ${health.lastError}`] : [];
  };
  return { agate, close };
}

/**
 * One external consumer that stamps what it sees, in batches of `batchSize` (null: the
 * default, 1,000); agate's own do not run.
 */
function latency(ctx: VariantContext, batchSize: number | null): AppendVariant {
  return {
    scenario: batchSize === null ? 'commit-to-consumer' : 'commit-to-consumer-small-batches',
    label: `commit-to-consumer latency, 1 woken consumer, batches of ${batchSize === null ? '1,000 (default)' : whole(batchSize)}`,
    start: async ({ pool, url, tenantId }) => {
      const agate = createAgate({ pool, games: defaultGames, consumers: false });
      const recorder = createLatencyRecorder();
      const consumers = await startExternalConsumers({
        url,
        tenantId,
        names: ['bench-latency'],
        wake: agate.wake,
        batchSize: batchSize ?? undefined,
        first: (events) => recorder.handle(events),
      });
      await consumers.idle();
      return besideWith(agate, consumers, recorder, ctx, async () => {
        await agate.close();
        return [];
      });
    },
  };
}

function besideWith(
  agate: Agate,
  consumers: ExternalConsumers,
  recorder: LatencyRecorder,
  ctx: VariantContext,
  closeAgate: () => Promise<string[]>,
): Beside {
  return {
    agate,
    onAck: (key, at) => recorder.acked(key, at),
    stop: () =>
      stopAfter(
        async () => {
          await recorder.allDelivered(ctx.catchUpTimeoutMs);
          await Promise.all([consumers.idle(), agate.idle()]);
        },
        async () => [...(await consumers.stop()).errors, ...(await closeAgate())],
        { ms: ctx.catchUpTimeoutMs, what: 'the consumers catching up', recorder },
      ),
  };
}

function own(ctx: VariantContext): AppendVariant {
  return {
    scenario: 'append-own',
    label: "append rate, agate's own consumers (in process, Redis)",
    start: async ({ pool }) => {
      const { agate, close } = ownAgate(ctx, pool);
      await agate.idle();
      return {
        agate,
        stop: () =>
          stopAfter(() => agate.idle(), close, {
            ms: ctx.catchUpTimeoutMs,
            what: "agate's own consumers catching up",
          }),
      };
    },
  };
}

function ownAndExternal(ctx: VariantContext): AppendVariant {
  return {
    scenario: 'append-own-and-external',
    label: "append rate, agate's own + 3 external no-op consumers",
    start: async ({ pool, url, tenantId }) => {
      const { agate, close } = ownAgate(ctx, pool);
      const recorder = createLatencyRecorder();
      const consumers = await startExternalConsumers({
        url,
        tenantId,
        names: ['bench-external-1', 'bench-external-2', 'bench-external-3'],
        wake: agate.wake,
        first: (events) => recorder.handle(events),
      });
      await Promise.all([agate.idle(), consumers.idle()]);
      return besideWith(agate, consumers, recorder, ctx, close);
    },
  };
}

/** The contrast: no consumers, but each append notifies inside its own transaction. */
function notifyInside(): AppendVariant {
  return {
    scenario: 'append-notify-inside',
    label: 'append rate, NOTIFY inside each append (contrast)',
    start: ({ pool }) => {
      const notifying = notifyingInsideAppends(pool, 'agate_bench_contrast');
      const agate = createAgate({ pool: notifying, games: defaultGames, consumers: false });
      return Promise.resolve({
        agate,
        stop: () =>
          stopAfter(
            () => Promise.resolve(),
            async () => {
              await agate.close();
              return [];
            },
            { ms: 0, what: 'nothing' },
          ),
      });
    },
  };
}

/** The latency row first, then the append rates; the contrast last. */
export function liveVariants(ctx: VariantContext): AppendVariant[] {
  return [
    latency(ctx, null),
    latency(ctx, 100),
    none(),
    own(ctx),
    ownAndExternal(ctx),
    notifyInside(),
  ];
}
