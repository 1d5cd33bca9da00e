import { uuidv7 } from 'uuidv7';
import { AgateError } from '../errors/index.js';
import type { AppendAccepted, AppendResult, NewEvent } from '../events/index.js';
import { foldGateEvents } from '../game/index.js';
import type { Agate } from '../runtime/index.js';
import { snapshotBoundaries } from '../snapshots/index.js';
import { stateHash } from '../../replay/index.js';
import { demoRules } from './demo-plan.js';
import type { DemoSessionPlan } from './demo-plan.js';

export type PlayedSession = {
  index: number;
  id: string;
  /** The session's last sequence: the bot's events plus `session.ended`. */
  events: number;
  /** Batches sent (not counting the second send of a retried one). */
  batches: number;
  /** Batches sent twice; each retry was answered with the first send's sequences. */
  retriedBatches: number;
  /** Snapshots the appends called for (intervals and the game's day ends). */
  snapshotBoundaries: number;
  /** The state hash as the game server's own fold computes it, without the database. */
  liveStateHash: string;
};

function accepted(result: AppendResult, sessionId: string): AppendAccepted {
  if (result.ok) return result;
  throw new AgateError(
    'internal',
    `The demo's append to session ${sessionId} was refused (${result.reason}): ${result.message}`,
  );
}

function checkRetry(first: AppendAccepted, again: AppendAccepted, sessionId: string): void {
  if (!again.duplicate || again.firstSequence !== first.firstSequence) {
    throw new AgateError(
      'internal',
      `A retried batch of session ${sessionId} was stored again (sequences ${again.firstSequence}..${again.lastSequence}, first sent as ${first.firstSequence}..${first.lastSequence}); idempotent appends are broken.`,
    );
  }
}

/**
 * Plays one planned session through the store's append path, as a game server does: event ids
 * assigned before the first send, `expectedSequence` on every batch, some batches sent twice
 * (the retry carries the now stale `expectedSequence` and must still get its first sequences
 * back), then the session ended. The caller never runs two of these on the same session.
 */
export async function playDemoSession(
  agate: Agate,
  tenantId: string,
  plan: DemoSessionPlan,
): Promise<PlayedSession> {
  const session = await agate.store.createSession({
    tenantId,
    rules: demoRules,
    seed: plan.seed,
    config: plan.config,
    writtenBy: 'demo',
  });
  const sessionId = session.id;
  const dayBoundaryTypes = agate.games.find(demoRules, session.rulesVersion)?.dayBoundaryTypes;
  const boundariesOf = (first: number, types: string[]) =>
    snapshotBoundaries(first, types, dayBoundaryTypes ?? []).length;
  const batches = plan.batches.map((b) => ({
    retry: b.retry,
    events: b.events.map((e): NewEvent => ({ ...e, eventId: uuidv7() })),
  }));
  let sequence = 0;
  let retried = 0;
  let boundaries = 0;
  for (const batch of batches) {
    const send = () =>
      agate.store.appendEvents({
        tenantId,
        sessionId,
        expectedSequence: sequence,
        events: batch.events,
        writtenBy: 'demo',
        // The plan is history recorded before the run (the bot's own seeds), folded again below.
        recordedSeeds: true,
      });
    const first = accepted(await send(), sessionId);
    if (batch.retry) {
      checkRetry(first, accepted(await send(), sessionId), sessionId);
      retried += 1;
    }
    boundaries += boundariesOf(
      first.firstSequence,
      batch.events.map((e) => e.type),
    );
    sequence = first.lastSequence;
  }
  const end = accepted(
    await agate.store.endSession({
      tenantId,
      sessionId,
      eventId: uuidv7(),
      expectedSequence: sequence,
      writtenBy: 'demo',
    }),
    sessionId,
  );
  boundaries += boundariesOf(end.firstSequence, ['session.ended']);
  const inputs = plan.batches.flatMap((b) => b.events);
  const live = foldGateEvents(plan.seed, plan.config, [
    ...inputs,
    { type: 'session.ended', version: 1, data: {} },
  ]);
  return {
    index: plan.index,
    id: sessionId,
    events: end.lastSequence,
    batches: batches.length,
    retriedBatches: retried,
    snapshotBoundaries: boundaries,
    liveStateHash: stateHash(live),
  };
}
