import { AgateClientError, isAgateClientError } from './client-error.js';
import type {
  ConsumerInfo,
  ConsumerMembership,
  ConsumerOptions,
  FeedEvent,
  ReceivedEvents,
  RunOptions,
} from './consumer-types.js';
import { pause } from './pause.js';

/** How the consumer reaches the API: the client's own retrying call. */
export type ConsumerTransport = (call: {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  retry: boolean;
}) => Promise<{ status: number; body: unknown }>;

export type ConsumerClient = {
  readonly name: string;
  /** The member name in use (the server's, after a first join that named none). */
  readonly member: string | undefined;
  /** Creates the consumer, or checks that the one of this name has this definition (`consumer_conflict`). */
  ensure(): Promise<ConsumerInfo>;
  /** Joins the group or heartbeats; the slots held afterwards. */
  join(): Promise<ConsumerMembership>;
  /** The next events of the member's slots after their checkpoints (reads only). */
  receive(): Promise<ReceivedEvents>;
  /** Checkpoints a receive once its events are handled; `lease_lost` when fenced (nothing written). */
  checkpoint(received: ReceivedEvents): Promise<void>;
  leave(): Promise<void>;
  /**
   * Runs until `signal` aborts: ensure, join, then receive → continuity check → `handler` →
   * checkpoint, heartbeating every `leaseMs / 3` and joining again after `lease_lost`. Each
   * batch is delivered at least once (a crash before its checkpoint delivers it again): each
   * event's `position` is the key to deduplicate on. Rejects with `feed_gap` when an event does
   * not continue its session (its `previousSequence` is not the last sequence seen), or with the
   * handler's error; either way nothing past it is checkpointed and the member leaves.
   */
  run(handler: (events: FeedEvent[]) => Promise<void>, options?: RunOptions): Promise<void>;
};

const consumerPath = (name: string) => `/v1/consumers/${encodeURIComponent(name)}`;

function slotOf(sessionId: string, slotCount: number): number {
  return Number.parseInt(sessionId.slice(-2), 16) % slotCount;
}

function gap(event: FeedEvent, last: number): AgateClientError {
  return new AgateClientError(
    'feed_gap',
    0,
    `Event ${event.sequence} of session ${event.sessionId} (position ${event.position}) follows ${event.previousSequence}, but the last one this consumer saw was ${last}: an event was skipped. Nothing past it was checkpointed; report it, and reset the consumer once the cause is known.`,
    { sessionId: event.sessionId, expected: last, received: event.previousSequence },
  );
}

/**
 * Per-session contiguity, from the first event this process sees of each session: a slot that
 * changed epoch was someone else's in between, so its sessions start over.
 */
function createTracker() {
  const last = new Map<string, number>();
  const epochs = new Map<number, number>();
  return {
    fresh(
      received: ReceivedEvents,
      slotCount: number,
    ): { events: FeedEvent[]; seen: Map<string, number> } {
      const moved = new Set(
        received.slots.filter((s) => epochs.get(s.slot) !== s.epoch).map((s) => s.slot),
      );
      if (moved.size > 0) {
        for (const id of last.keys()) if (moved.has(slotOf(id, slotCount))) last.delete(id);
      }
      const seen = new Map<string, number>();
      const events: FeedEvent[] = [];
      for (const event of received.events) {
        const previous = seen.get(event.sessionId) ?? last.get(event.sessionId);
        if (previous !== undefined && event.sequence <= previous) continue;
        if (previous !== undefined && event.previousSequence !== previous)
          throw gap(event, previous);
        seen.set(event.sessionId, event.sequence);
        events.push(event);
      }
      return { events, seen };
    },
    accept(received: ReceivedEvents, seen: Map<string, number>) {
      for (const s of received.slots) epochs.set(s.slot, s.epoch);
      for (const [id, sequence] of seen) last.set(id, sequence);
    },
  };
}

export function createConsumerClient(
  send: ConsumerTransport,
  name: string,
  options: ConsumerOptions = {},
): ConsumerClient {
  const path = consumerPath(name);
  const leaseMs = options.leaseMs ?? 30_000;
  let member = options.member;
  let slotCount = 1;

  const client: ConsumerClient = {
    name,
    get member() {
      return member;
    },
    async ensure() {
      const body = { types: options.types ?? null, slots: options.slots, start: options.start };
      return (await send({ method: 'PUT', path, body, retry: true })).body as ConsumerInfo;
    },
    async join() {
      const body = { member, leaseMs };
      const joined = (await send({ method: 'POST', path: `${path}/members`, body, retry: true }))
        .body as ConsumerMembership;
      member = joined.member;
      slotCount = joined.slotCount;
      return joined;
    },
    async receive() {
      if (member === undefined) return { events: [], slots: [], through: null, held: false };
      const query = { member, limit: options.batchSize };
      return (await send({ method: 'GET', path: `${path}/events`, query, retry: true }))
        .body as ReceivedEvents;
    },
    async checkpoint(received) {
      if (member === undefined || received.through === null || received.slots.length === 0) return;
      const body = { member, slots: received.slots, position: received.through, leaseMs };
      await send({ method: 'POST', path: `${path}/checkpoints`, body, retry: true });
    },
    async leave() {
      if (member === undefined) return;
      await send({
        method: 'DELETE',
        path: `${path}/members/${encodeURIComponent(member)}`,
        retry: true,
      });
    },
    run: (handler, runOptions = {}) => runConsumer(client, handler, runOptions),
  };

  async function runConsumer(
    self: ConsumerClient,
    handler: (events: FeedEvent[]) => Promise<void>,
    { signal, onError = () => undefined }: RunOptions,
  ): Promise<void> {
    await self.ensure();
    await self.join();
    const tracker = createTracker();
    let heartbeat: Promise<unknown> = Promise.resolve();
    const beat = setInterval(
      () => {
        heartbeat = self.join().catch(onError);
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
    try {
      while (signal?.aborted !== true) {
        const received = await self.receive();
        if (received.through === null) {
          await pause(received.held ? 50 : (options.pollMs ?? 1_000), signal);
          continue;
        }
        const { events, seen } = tracker.fresh(received, slotCount);
        if (events.length > 0) await handler(events);
        try {
          await self.checkpoint(received);
        } catch (error) {
          if (!isAgateClientError(error, 'lease_lost')) throw error;
          onError(error);
          await heartbeat;
          await self.join();
          continue;
        }
        tracker.accept(received, seen);
      }
    } finally {
      clearInterval(beat);
      await heartbeat;
      await self.leave().catch(onError);
    }
  }

  return client;
}
