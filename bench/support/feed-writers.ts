import { playSession } from '../../src/game/index.js';
import type { GateEventInput } from '../../src/game/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { runWorkers } from './run-workers.js';
import type { RunStats } from './run-workers.js';

/** `session:sequence`, the key the latency rows match acknowledgements and deliveries on. */
export function eventKey(sessionId: string, sequence: number): string {
  return `${sessionId}:${sequence}`;
}

export type WriterOptions = {
  writers: number;
  durationMs: number;
  /** Events each bot session is played for before its writer moves on to a new session. */
  sessionEvents: number;
  seedPrefix: string;
  /** Called with each acknowledged event, when its append has returned. */
  onAck?: (key: string, at: number) => void;
};

export type WriterRun = {
  stats: RunStats;
  /** Session id → its last acknowledged sequence. */
  sessions: Map<string, number>;
  acked: number;
};

type Writer = { sessionId: string; plan: GateEventInput[]; next: number };

/**
 * `writers` concurrent clients, each appending single events of its own bot-played
 * archive-gate session back to back (a new session when one is played out) for `durationMs`,
 * through the store as a game server does. The sessions are created before the clock starts.
 */
export async function runFeedWriters(
  agate: Agate,
  tenantId: string,
  options: WriterOptions,
): Promise<WriterRun> {
  const sessions = new Map<string, number>();
  let created = 0;
  async function newWriter(): Promise<Writer> {
    const seed = `${options.seedPrefix}-${created}`;
    created += 1;
    const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
    sessions.set(session.id, 0);
    return {
      sessionId: session.id,
      plan: playSession(seed, {}, options.sessionEvents, `${seed}-bot`),
      next: 0,
    };
  }
  const writers: Writer[] = [];
  for (let w = 0; w < options.writers; w += 1) writers.push(await newWriter());
  let acked = 0;
  const stats = await runWorkers(options.writers, options.durationMs, async (w) => {
    let writer = writers[w] as Writer;
    if (writer.next >= writer.plan.length) {
      writer = await newWriter();
      writers[w] = writer;
    }
    const event = writer.plan[writer.next] as GateEventInput;
    const result = await agate.store.appendEvents({
      tenantId,
      sessionId: writer.sessionId,
      events: [event],
      recordedSeeds: true,
    });
    const at = performance.now();
    if (!result.ok) return { ok: false, error: `${result.reason}: ${result.message}` };
    writer.next += 1;
    acked += 1;
    sessions.set(writer.sessionId, result.lastSequence);
    options.onAck?.(eventKey(writer.sessionId, result.lastSequence), at);
    return { ok: true };
  });
  return { stats, sessions, acked };
}
