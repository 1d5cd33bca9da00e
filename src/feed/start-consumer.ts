import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError, isAgateError } from '../errors/index.js';
import { formatFeedPosition } from '../events/index.js';
import type { FeedEvent, FeedPosition } from '../events/index.js';
import { advanceMembership, claimedSlots, mergeMembership } from './adopt-membership.js';
import { commitCheckpoint } from './commit-checkpoint.js';
import type { ConsumerDefinition } from './consumer-types.js';
import { createContinuityTracker } from './continuity-tracker.js';
import type { ContinuityTracker } from './continuity-tracker.js';
import { createWakeSignal } from './wake-signal.js';
import { ensureConsumer } from './ensure-consumer.js';
import type { FeedWake } from './feed-wake.js';
import { joinConsumer } from './join-consumer.js';
import { leaveConsumer } from './leave-consumer.js';
import type { Membership } from './membership.js';
import { receiveEvents } from './receive-events.js';
import type { ReceivedEvents } from './receive-events.js';

export type StartConsumerOptions = {
  tenantId: string;
  definition: ConsumerDefinition;
  /** This process's name in the group (default host, pid and a random suffix). */
  member?: string;
  /** How long a slot stays this member's without a heartbeat (default 30 s; heartbeat every third). */
  leaseMs?: number;
  /** How long a caught-up consumer waits when no wake-up comes (default 1 s). */
  pollMs?: number;
  /** Events per batch at most (default 1,000: a consumer behind catches up in big batches; one caught up gets what is there). */
  batchSize?: number;
  /**
   * A caught-up consumer reads again at most this often (default 20 ms): under load, wake-ups come
   * every few milliseconds, and each read and checkpoint costs the same for one event as for a
   * hundred, so the events of that time are handled in one batch. What it costs is latency: up to
   * this much more between a commit and its handling, only while events keep coming.
   */
  gatherMs?: number;
  wake?: FeedWake;
  /** Told of every failure: a handler's (retried with backoff), a feed gap (the consumer stops), a lost connection. */
  onError?: (error: unknown) => void;
  /** True only for agate's own consumers (names under `agate.`). */
  reserved?: boolean;
};

export type ConsumerState = 'running' | 'retrying' | 'stopped' | 'failed';

export type ConsumerHandleStatus = {
  name: string;
  member: string;
  state: ConsumerState;
  slots: number[];
  /** Events handled (and checkpointed) by this handle. */
  handled: number;
  /** The last checkpointed position, formatted. */
  position: string | null;
  error: Error | undefined;
};

export type ConsumerHandle = {
  /** Finishes the batch in hand, leaves the group (its slots are free at once) and stops. */
  stop(): Promise<void>;
  /**
   * Resolves once the member has handled everything of its slots committed before the call (a
   * read that began after it found nothing new and nothing held behind an open transaction);
   * rejects if the consumer fails or stops first. In a group, a slot being handed over between
   * heartbeats is the next owner's to catch up.
   */
  idle(): Promise<void>;
  status(): ConsumerHandleStatus;
};

const maxBackoffMs = 30_000;
const heldBackoff = { firstMs: 10, maxMs: 100 };

type Waiter = { round: number; resolve: () => void; reject: (error: unknown) => void };

/**
 * Runs a durable consumer in this process: ensures it exists, joins its group, and loops
 * receive → continuity check → handle → fenced checkpoint, heartbeating every `leaseMs / 3`.
 * A transactional handler runs in the checkpoint's transaction (checkpoint first, so the slot
 * rows are locked and the epoch checked before any write); an at-least-once handler runs before
 * a short checkpoint transaction. A failing handler is retried with backoff and nothing past it
 * is checkpointed; a `feed_gap` stops the consumer.
 */
export async function startConsumer(
  pool: Pool,
  options: StartConsumerOptions,
): Promise<ConsumerHandle> {
  const { definition } = options;
  const ref = { tenantId: options.tenantId, name: definition.name, reserved: options.reserved };
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1_000;
  const batchSize = options.batchSize ?? 1_000;
  const gatherMs = options.gatherMs ?? 20;
  const member = options.member ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const onError = options.onError ?? (() => undefined);
  await ensureConsumer(pool, {
    ...ref,
    types: definition.types,
    slots: definition.slots,
    start: definition.start,
  });
  const tracker: ContinuityTracker = createContinuityTracker({
    chained: definition.types === null,
  });
  let membership: Membership | undefined;
  const adopt = (next: Membership) => {
    const fresh = claimedSlots(membership, next);
    if (fresh.length > 0) tracker.forgetSlots(fresh, next.slotCount);
    membership = mergeMembership(membership, next);
  };
  adopt(await joinConsumer(pool, { ...ref, member, leaseMs }));

  let state: ConsumerState = 'running';
  let failure: Error | undefined;
  let handled = 0;
  let position: FeedPosition | null = null;
  let round = 0;
  const signal = createWakeSignal();
  const waiters: Waiter[] = [];
  const wakeUp = () => signal.wake();
  const unsubscribe = options.wake?.subscribe(ref.tenantId, wakeUp);
  const pause = (ms: number) => signal.pause(ms);

  let joining: Promise<void> | undefined;
  const heartbeat = () =>
    (joining ??= joinConsumer(pool, { ...ref, member, leaseMs })
      .then(adopt, (error: unknown) => {
        onError(error);
        if (isAgateError(error, 'consumer_not_found')) fail(error);
      })
      .finally(() => {
        joining = undefined;
      }));
  let beat: NodeJS.Timeout | undefined;
  const scheduleBeat = () => {
    beat = setTimeout(
      () => {
        void heartbeat().finally(() => {
          if (state !== 'stopped' && state !== 'failed') scheduleBeat();
        });
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
  };
  scheduleBeat();

  function settle(error: unknown) {
    for (const w of waiters.splice(0)) w.reject(error);
  }
  function fail(error: unknown) {
    if (state === 'stopped' || state === 'failed') return;
    state = 'failed';
    failure = error instanceof Error ? error : new Error(String(error));
    settle(error);
    signal.wake();
  }

  async function handleBatch(m: Membership, events: FeedEvent[], through: FeedPosition) {
    const commit = {
      tenantId: m.tenantId,
      consumerId: m.consumerId,
      member,
      slots: m.slots.map((s) => ({ slot: s.slot, epoch: s.epoch })),
      position: through,
      leaseMs,
    };
    if (definition.mode === 'transactional') {
      await withTenant(pool, { tenantId: m.tenantId }, async (tx) => {
        if (!('pglite' in pool)) {
          await tx.query("SELECT set_config('idle_in_transaction_session_timeout', $1, true)", [
            String(leaseMs),
          ]);
        }
        await commitCheckpoint(tx, commit);
        if (events.length > 0) await definition.handle(tx, events);
      });
      position = through;
    } else {
      if (events.length > 0) await definition.handle(events);
      await withTenant(pool, { tenantId: m.tenantId }, (tx) => commitCheckpoint(tx, commit));
      position = through;
    }
  }

  // A consumer behind reads its next page while it checks and handles this one (the read waits
  // on PostgreSQL, the chain check on this process's CPU). The page read ahead is used only if
  // the membership is still exactly the one it was read for; anything else (a heartbeat that
  // changed the slots, a failed batch) drops it. PGlite runs one transaction at a time: no gain.
  let ahead: { for: Membership; page: Promise<ReceivedEvents> } | undefined;
  const readAhead = !('pglite' in pool);
  const receive = (m: Membership) => receiveEvents(pool, m, { limit: batchSize });

  // When the last read found the consumer caught up: the time it began (see gatherMs).
  let caughtUpAt: number | undefined;
  const gather = async () => {
    const wait = caughtUpAt === undefined ? 0 : caughtUpAt + gatherMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };

  /** One receive and its batch: 'more' to go on at once, 'held' to look again soon, 'idle' to wait. */
  async function step(): Promise<'more' | 'held' | 'idle'> {
    // A page read ahead means the consumer is behind: no gathering then.
    if (ahead === undefined) await gather();
    const m = membership;
    if (m === undefined || m.slots.length === 0) return 'idle';
    const prefetched = ahead?.for === m ? ahead.page : undefined;
    ahead = undefined;
    const readAt = performance.now();
    const received = await (prefetched ?? receive(m));
    caughtUpAt = received.events.length < batchSize / 2 ? readAt : undefined;
    if (received.through === null) return received.held ? 'held' : 'idle';
    const next = advanceMembership(m, m, received.through);
    const behind = received.events.length >= batchSize / 2;
    if (readAhead && behind) {
      const page = receive(next);
      page.catch(() => undefined);
      ahead = { for: next, page };
    }
    const check = await tracker.check(pool, m, received.events);
    await handleBatch(m, check.fresh, received.through);
    tracker.accept(check.links);
    handled += check.fresh.length;
    if (membership === m) membership = next;
    else if (membership !== undefined)
      membership = advanceMembership(membership, m, received.through);
    return 'more';
  }

  const active = () => state === 'running' || state === 'retrying';

  async function loop() {
    let failures = 0;
    let heldMs = heldBackoff.firstMs;
    while (active()) {
      const started = ++round;
      let outcome: 'more' | 'held' | 'idle';
      try {
        outcome = await step();
        failures = 0;
        if (active()) state = 'running';
      } catch (error) {
        // A page read ahead is dropped: after the rejoin below the stored checkpoints say where
        // to go on.
        ahead = undefined;
        onError(error);
        if (isAgateError(error, 'feed_gap')) {
          fail(error);
          return;
        }
        if (isAgateError(error, 'lease_lost')) {
          await heartbeat();
          continue;
        }
        if (!active()) return;
        state = 'retrying';
        failures += 1;
        await pause(Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures, 10)));
        // A commit whose acknowledgement was lost may have landed: read the checkpoints back
        // (the join's are kept when ahead) so the batch is not handled twice, and check the
        // sessions' links again from the log rather than from what this process last accepted.
        tracker.forgetAll();
        if (active()) await heartbeat();
        continue;
      }
      if (outcome === 'more') {
        heldMs = heldBackoff.firstMs;
        continue;
      }
      if (outcome === 'held') {
        await pause(heldMs);
        heldMs = Math.min(heldBackoff.maxMs, heldMs * 2);
        continue;
      }
      heldMs = heldBackoff.firstMs;
      for (const w of waiters.filter((x) => x.round < started)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      await pause(pollMs);
    }
  }
  const running = loop();

  return {
    async stop() {
      if (state !== 'failed') state = 'stopped';
      signal.wake();
      clearTimeout(beat);
      unsubscribe?.();
      await running;
      await joining;
      settle(new AgateError('unavailable', `The consumer ${definition.name} was stopped.`));
      await leaveConsumer(pool, { ...ref, member }).catch(onError);
    },
    idle() {
      if (state === 'failed') return Promise.reject(failure ?? new Error('The consumer failed.'));
      if (state === 'stopped') {
        return Promise.reject(
          new AgateError('unavailable', `The consumer ${definition.name} was stopped.`),
        );
      }
      return new Promise<void>((resolve, reject) => {
        waiters.push({ round, resolve, reject });
        wakeUp();
      });
    },
    status: () => ({
      name: definition.name,
      member,
      state,
      slots: membership?.slots.map((s) => s.slot) ?? [],
      handled,
      position: position === null ? null : formatFeedPosition(position),
      error: failure,
    }),
  };
}
