import { AgateError } from '../errors/index.js';
import { fromPgError } from '../db/index.js';
import { checkRef, notFound } from './get-session.js';
import { prepareBatch, shapeBatch } from './prepare-batch.js';
import type { NewEvent } from './prepare-batch.js';
import type { AppendedBatch, StoreDeps } from './store-deps.js';

export type AppendInput = {
  tenantId: string;
  sessionId: string;
  /** Optimistic concurrency: the session's last sequence as the caller last saw it. */
  expectedSequence?: number;
  events: readonly NewEvent[];
};

export type AppendedEvent = { eventId: string; sequence: number };

export type AppendAccepted = {
  ok: true;
  /** True when every event id was already stored: nothing new was written. */
  duplicate: boolean;
  firstSequence: number;
  lastSequence: number;
  events: AppendedEvent[];
};

export type AppendRejected = {
  ok: false;
  reason: 'session_not_found' | 'session_ended' | 'sequence_conflict' | 'event_id_conflict';
  /** The session's last sequence when the batch was refused (null for a missing session). */
  currentSequence: number | null;
  message: string;
};

export type AppendResult = AppendAccepted | AppendRejected;

type Outcome = AppendRejected['reason'] | 'appended' | 'duplicate';
type OutcomeRow = { outcome: Outcome; first_sequence: number | null; last_sequence: number | null };

function checkExpected(expected: unknown): number | null {
  if (expected === undefined || expected === null) return null;
  if (!Number.isSafeInteger(expected) || (expected as number) < 0) {
    throw new AgateError(
      'invalid_request',
      'expectedSequence must be a non-negative integer (or leave it out).',
    );
  }
  return expected as number;
}

function rejected(
  reason: AppendRejected['reason'],
  sessionId: string,
  current: number | null,
): AppendRejected {
  const messages: Record<AppendRejected['reason'], string> = {
    session_not_found: notFound(sessionId).message,
    session_ended: `Session ${sessionId} has ended; it accepts no more events. Start a new session.`,
    sequence_conflict: `Session ${sessionId} is at sequence ${current}, not the expected one; read the new events, decide again, and append with expectedSequence ${current}.`,
    event_id_conflict: `Some event ids of this batch were stored by another batch of session ${sessionId}; retry the original batch exactly, or give new events new ids.`,
  };
  return { ok: false, reason, currentSequence: current, message: messages[reason] };
}

/**
 * Appends a batch of 1..N events to one session, atomically, in one round trip (the
 * `game.append_events` function): consecutive gapless sequences, the hash chain extended under
 * the session row lock, acknowledged only after commit. A batch whose event ids are all stored
 * returns the sequences they got the first time, whatever `expectedSequence` says. Invalid input
 * throws an `AgateError` before anything is written; refusals by the session's state are returned.
 */
export async function appendEvents(deps: StoreDeps, input: AppendInput): Promise<AppendResult> {
  const { tenantId, sessionId } = checkRef(input);
  const expected = checkExpected(input.expectedSequence);
  const shaped = shapeBatch(input.events, deps.limits);
  const rules = await deps.sessionRules.lookup(deps.pool, tenantId, sessionId);
  if (rules === undefined) return rejected('session_not_found', sessionId, null);
  const registry = deps.catalog.find(rules.rules, rules.rulesVersion);
  if (registry === undefined) {
    throw new AgateError(
      'unknown_rules',
      `Session ${sessionId} plays ${rules.rules} v${rules.rulesVersion}, which this server does not know; run a version of agate that registers those rules.`,
    );
  }
  const prepared = prepareBatch(registry, shaped);
  let row: OutcomeRow | undefined;
  try {
    const result = await deps.pool.query<OutcomeRow>(
      'SELECT outcome, first_sequence, last_sequence FROM game.append_events($1, $2, $3, $4, $5)',
      [tenantId, sessionId, expected, JSON.stringify(prepared), deps.limits.lockTimeoutMs],
    );
    row = result.rows[0];
  } catch (error) {
    throw fromPgError(error);
  }
  if (row === undefined) throw new AgateError('internal', 'game.append_events returned no row.');
  if (row.outcome !== 'appended' && row.outcome !== 'duplicate') {
    return rejected(row.outcome, sessionId, row.last_sequence);
  }
  const first = row.first_sequence ?? 0;
  const accepted: AppendAccepted = {
    ok: true,
    duplicate: row.outcome === 'duplicate',
    firstSequence: first,
    lastSequence: first + prepared.length - 1,
    events: prepared.map((e, i) => ({ eventId: e.eventId, sequence: first + i })),
  };
  if (!accepted.duplicate) {
    await runAfterAppend(deps, {
      tenantId,
      sessionId,
      rules: rules.rules,
      rulesVersion: rules.rulesVersion,
      firstSequence: accepted.firstSequence,
      lastSequence: accepted.lastSequence,
      types: prepared.map((e) => e.type),
    });
  }
  return accepted;
}

async function runAfterAppend(deps: StoreDeps, batch: AppendedBatch): Promise<void> {
  if (deps.afterAppend === undefined) return;
  try {
    await deps.afterAppend(batch);
  } catch (error) {
    deps.onAfterAppendError?.(error, batch);
  }
}
