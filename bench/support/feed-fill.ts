import { playSession } from '../../src/game/index.js';
import type { Agate } from '../../src/runtime/index.js';

/** What the feed must deliver: every stored session with its number of events. */
export type FilledFeed = {
  tenantId: string;
  /** Session id → its last sequence (its events are 1..last). */
  sessions: Map<string, number>;
  events: number;
  appends: number;
  fillMs: number;
};

export type FillOptions = {
  sessions: number;
  eventsPerSession: number;
  /** Events per append (one transaction each). */
  batch: number;
  /** Concurrent appending clients, each with its own sessions. */
  clients: number;
  seedPrefix: string;
};

/**
 * Stores bot-played archive-gate sessions through the store's appendEvents, `batch` events per
 * call, from `clients` concurrent clients: real appends with real hash chains, whose
 * transactions interleave in the feed as a busy server's do. The agate given should have its
 * snapshots off, so that only the events are written.
 */
export async function fillFeed(
  agate: Agate,
  tenantId: string,
  options: FillOptions,
): Promise<FilledFeed> {
  const started = performance.now();
  const sessions = new Map<string, number>();
  let next = 0;
  let appends = 0;
  async function client(): Promise<void> {
    while (next < options.sessions) {
      const index = next;
      next += 1;
      const seed = `${options.seedPrefix}-${index}`;
      const inputs = playSession(seed, {}, options.eventsPerSession, `${seed}-bot`);
      const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
      for (let at = 0; at < inputs.length; at += options.batch) {
        const result = await agate.store.appendEvents({
          tenantId,
          sessionId: session.id,
          events: inputs.slice(at, at + options.batch),
          recordedSeeds: true,
        });
        if (!result.ok) throw new Error(`append refused: ${result.reason}: ${result.message}`);
        appends += 1;
      }
      sessions.set(session.id, inputs.length);
    }
  }
  await Promise.all(Array.from({ length: options.clients }, () => client()));
  // Settles hint bits and statistics, so the first reader does not pay for the bulk load.
  await agate.pool.query('VACUUM (ANALYZE) game.sessions, game.events');
  let events = 0;
  for (const count of sessions.values()) events += count;
  return { tenantId, sessions, events, appends, fillMs: performance.now() - started };
}
