import { setTimeout as pause } from 'node:timers/promises';
import { isAgateError } from '../errors/index.js';
import { startConsumer } from '../feed/index.js';
import type { ConsumerDefinition, ConsumerHandle, FeedWake } from '../feed/index.js';
import { listTenants } from '../tenants/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { agateConsumers } from './agate-consumers.js';
import type { AgateRedis } from './agate-consumers.js';

export type AgateConsumersOptions = {
  redis?: AgateRedis | null;
  /** This process's member name in each consumer's group (default: host, pid and a suffix). */
  member?: string;
  wake?: FeedWake;
  leaseMs?: number;
  pollMs?: number;
  batchSize?: number;
  /** How often tenants are listed again, to pick up new ones (default 5 s). */
  tenantPollMs?: number;
  /** Replaces the list (tests); default `agateConsumers(deps, redis)`. */
  consumers?: readonly ConsumerDefinition[];
  /** A handler, a start or a listing failed; it is retried, nothing is lost. */
  onError?: (error: unknown, where: { tenantId: string | null; consumer: string | null }) => void;
};

export type RunningAgateConsumers = {
  /** Lists the tenants again now when `tenantId` is not among the known ones (a new tenant's wake-up). */
  notice(tenantId: string): void;
  /**
   * Resolves when every consumer of every tenant (tenants created before the call included) has
   * handled everything committed before the call. It waits until this process holds every slot
   * (a member that left frees its slots at once, a dead one when its lease expires), so it is
   * meant for the process that runs them alone: the embedded default, tests, `agate demo`.
   */
  idle(): Promise<void>;
  /** Finishes the batches in hand and leaves every group. */
  stop(): Promise<void>;
};

type Running = { definition: ConsumerDefinition; handle: ConsumerHandle };
type Tenant = { running: Promise<Running[]> };

const defaultSlots = 16;

/**
 * Runs agate's own consumers for every tenant (ADR 0025): tenants are listed as
 * agate_maintenance, each consumer is kept per tenant (its checkpoints move with the tenant) and
 * run as a member of its group, so the processes that run them (serve, worker) share the work by
 * session. Tenants created later are picked up by the next listing, or at once on `notice`; a
 * tenant the listing no longer finds (its data moved away, or it was deleted) has its consumers
 * here stopped.
 */
export function startAgateConsumers(
  deps: ReplayDeps,
  options: AgateConsumersOptions = {},
): RunningAgateConsumers {
  const definitions = options.consumers ?? agateConsumers(deps, options.redis ?? null);
  const onError = options.onError ?? (() => undefined);
  const tenants = new Map<string, Tenant>();
  let stopped = false;
  let listing: Promise<void> | null = null;

  const start = async (tenantId: string, definition: ConsumerDefinition): Promise<Running> => ({
    definition,
    handle: await startConsumer(deps.pool, {
      tenantId,
      definition,
      reserved: definition.name.startsWith('agate.'),
      member: options.member,
      wake: options.wake,
      leaseMs: options.leaseMs,
      pollMs: options.pollMs,
      batchSize: options.batchSize,
      onError: (error) => {
        // Its rows gone: the tenant may have moved away (ADR 0034). List again, which stops
        // its consumers here if so; only a tenant still here has a failure to report.
        if (!isAgateError(error, 'consumer_not_found')) {
          onError(error, { tenantId, consumer: definition.name });
          return;
        }
        list().then(
          () => {
            if (tenants.has(tenantId)) onError(error, { tenantId, consumer: definition.name });
          },
          (listed: unknown) => onError(listed, { tenantId: null, consumer: null }),
        );
      },
    }),
  });
  const startTenant = (tenantId: string) => {
    const running = Promise.all(definitions.map((d) => start(tenantId, d)));
    tenants.set(tenantId, { running });
    // A tenant that could not start (the database away) is started again by the next listing.
    running.catch((error: unknown) => {
      tenants.delete(tenantId);
      onError(error, { tenantId, consumer: null });
    });
  };
  const list = (): Promise<void> => {
    listing ??= listTenants(deps.pool, { dataHere: true })
      .then((found) => {
        const here = new Set(found.map((t) => t.id));
        for (const id of here) if (!stopped && !tenants.has(id)) startTenant(id);
        // A tenant whose data left (a move) or that was deleted: its consumers here stop.
        for (const [id, tenant] of tenants) {
          if (here.has(id)) continue;
          tenants.delete(id);
          tenant.running
            .then(
              (all) => Promise.all(all.map((r) => r.handle.stop())),
              () => undefined, // it never started: reported already
            )
            .catch((error: unknown) => onError(error, { tenantId: id, consumer: null }));
        }
      })
      .finally(() => {
        listing = null;
      });
    return listing;
  };
  const relist = () => {
    list().catch((error: unknown) => onError(error, { tenantId: null, consumer: null }));
  };
  const timer = setInterval(relist, options.tenantPollMs ?? 5_000);
  timer.unref();
  relist();

  const everyRunning = async () =>
    (await Promise.all([...tenants.values()].map((t) => t.running))).flat();
  const holdsEverySlot = (all: readonly Running[]) =>
    all.every((r) => r.handle.status().slots.length === (r.definition.slots ?? defaultSlots));

  return {
    notice(tenantId) {
      if (!stopped && !tenants.has(tenantId)) relist();
    },
    async idle() {
      // A listing already running may predate a tenant created before this call: list again.
      await listing?.catch(() => undefined);
      await list();
      // Every slot held first, then idle: a handle's idle() covers the slots it holds when it is
      // called, so a slot claimed after it resolved (a dead member's, once its lease expired)
      // would be reported idle unread.
      for (;;) {
        const all = await everyRunning();
        if (holdsEverySlot(all)) {
          await Promise.all(all.map((r) => r.handle.idle()));
          if (holdsEverySlot(all)) return;
        }
        await pause(50);
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listing?.catch(() => undefined);
      const all = await everyRunning().catch((): Running[] => []);
      await Promise.all(all.map((r) => r.handle.stop()));
      tenants.clear();
    },
  };
}
