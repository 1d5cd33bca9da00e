import { AgateError } from '../errors/index.js';
import { fromPgError } from '../db/index.js';
import type { PoolClient, Queryable } from '../db/index.js';
import { checkRef, notFound } from './get-session.js';
import { fetchEventSeeds } from './event-seeds.js';
import { prepareBatch, serverSeedIds, shapeBatch } from './prepare-batch.js';
import type { NewEvent } from './event-envelope.js';
import type { PreparedEvent, ShapedEvent } from './prepare-batch.js';
import type { EventTypeRegistry } from '../game/index.js';
import type { AppendedBatch, StoreDeps } from './store-deps.js';
import { checkWrittenBy } from './written-by.js';
import type { WrittenBy } from './written-by.js';

export type AppendInput = {
  tenantId: string;
  sessionId: string;
  /** Optimistic concurrency: the session's last sequence as the caller last saw it. */
  expectedSequence?: number;
  events: readonly NewEvent[];
  /** Recorded in every stored row (default `library`); the HTTP API passes `key:<key id>`. */
  writtenBy?: WrittenBy;
  /**
   * Only for the trusted paths that carry recorded history (`fixtures import`, `agate demo`'s
   * pre-played plan): keep the events' recorded seeds whatever the rules say (ADR 0013). Never
   * set from a request.
   */
  recordedSeeds?: boolean;
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

type Refusal = {
  ok: false;
  /** The session's last sequence when the batch was refused (null for a missing session). */
  currentSequence: number | null;
  message: string;
};

export type AppendRejected =
  | (Refusal & { reason: 'session_not_found' | 'session_ended' | 'sequence_conflict' })
  | (Refusal & {
      /** Some ids were stored before, and this batch is not exactly the one that stored them. */
      reason: 'event_id_conflict';
      /** The 0-based index in the batch of the first event that differs from what is stored. */
      index: number;
      eventId: string;
    });

export type AppendResult = AppendAccepted | AppendRejected;

type Outcome = AppendRejected['reason'] | 'appended' | 'duplicate';
type OutcomeRow = {
  outcome: Outcome;
  first_sequence: number | null;
  last_sequence: number | null;
  conflict_index: number | null;
};

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
  reason: Exclude<AppendRejected['reason'], 'event_id_conflict'>,
  sessionId: string,
  current: number | null,
): AppendRejected {
  const messages: Record<typeof reason, string> = {
    session_not_found: notFound(sessionId).message,
    session_ended: `Session ${sessionId} has ended; it accepts no more events. Start a new session.`,
    sequence_conflict: `Session ${sessionId} is at sequence ${current}, not the expected one; read the new events, decide again, and append with expectedSequence ${current}.`,
  };
  return { ok: false, reason, currentSequence: current, message: messages[reason] };
}

function idConflict(
  sessionId: string,
  current: number | null,
  index: number,
  prepared: readonly PreparedEvent[],
): AppendRejected {
  const eventId = prepared[index]?.eventId ?? '';
  return {
    ok: false,
    reason: 'event_id_conflict',
    currentSequence: current,
    index,
    eventId,
    message: `events[${index}] (eventId ${eventId}) differs from what session ${sessionId} stored under these ids (another type, version, data, clientTime, order or set of events); retry the original batch exactly, or give new events new ids. Nothing was stored.`,
  };
}

/** The batch validated and hashed, with the server's seeds fetched only when an event needs one. */
async function prepareFor(
  deps: StoreDeps,
  ref: { tenantId: string; sessionId: string },
  registry: EventTypeRegistry,
  shaped: readonly ShapedEvent[],
  recordedSeeds: boolean,
): Promise<PreparedEvent[]> {
  const ids = serverSeedIds(registry, shaped);
  const seeds =
    ids.length === 0
      ? new Map<string, string>()
      : await fetchEventSeeds(deps.pool, ref.tenantId, ref.sessionId, ids);
  return prepareBatch(registry, shaped, {
    seedFor: (eventId) => {
      const seed = seeds.get(eventId);
      if (seed === undefined) throw new AgateError('internal', `No seed for event ${eventId}.`);
      return seed;
    },
    recordedSeeds,
  });
}

/**
 * Appends a batch of 1..N events to one session, atomically, in one round trip (the
 * `game.append_events` function, defined in `migrations/repeatable/game.append_events.sql`):
 * consecutive gapless sequences, the hash chain extended under the session row lock,
 * acknowledged only after commit. A batch whose event ids are all stored
 * returns the sequences they got the first time, whatever `expectedSequence` says, when it is
 * the same batch (same ids in the same order, same content and clientTime; compared with the
 * stored chain under the lock); any difference is `event_id_conflict` naming the first differing
 * event. A seedless event of a randomness-consuming type gets the server's seed for its id
 * (`deriveEventSeed`, one extra statement for such batches only). Invalid input throws an
 * `AgateError` before anything is written; refusals by the session's state are returned.
 */
export async function appendEvents(deps: StoreDeps, input: AppendInput): Promise<AppendResult> {
  const { result, batch } = await storeBatch(deps, deps.pool, input);
  if (batch !== undefined) await runAfterAppend(deps, batch);
  return result;
}

/**
 * `appendEvents` inside the caller's transaction `tx`: the same checks and the same
 * `game.append_events` call, which takes the session row lock in `tx` and leaves `tx` as
 * agate_app in the tenant's context until it ends. Nothing is stored until the caller commits,
 * and the after-append work does not run (it must follow a commit; the feed carries it). For
 * callers that must append together with other writes, or at a moment of their choosing.
 */
export async function appendEventsInTransaction(
  deps: StoreDeps,
  tx: PoolClient,
  input: AppendInput,
): Promise<AppendResult> {
  return (await storeBatch(deps, tx, input)).result;
}

async function callAppend(
  executor: Queryable,
  input: { tenantId: string; sessionId: string; expected: number | null; writtenBy: WrittenBy },
  prepared: readonly PreparedEvent[],
  lockTimeoutMs: number,
): Promise<OutcomeRow> {
  let row: OutcomeRow | undefined;
  try {
    const result = await executor.query<OutcomeRow>(
      `SELECT outcome, first_sequence, last_sequence, conflict_index
         FROM game.append_events($1, $2, $3, $4, $5, $6)`,
      [
        input.tenantId,
        input.sessionId,
        input.expected,
        JSON.stringify(prepared),
        lockTimeoutMs,
        input.writtenBy,
      ],
    );
    row = result.rows[0];
  } catch (error) {
    throw fromPgError(error);
  }
  if (row === undefined) throw new AgateError('internal', 'game.append_events returned no row.');
  return row;
}

/** Checks, prepares and stores one batch through `executor`; the batch is set when new events were stored. */
async function storeBatch(
  deps: StoreDeps,
  executor: Queryable,
  input: AppendInput,
): Promise<{ result: AppendResult; batch?: AppendedBatch }> {
  const { tenantId, sessionId } = checkRef(input);
  const expected = checkExpected(input.expectedSequence);
  const writtenBy = checkWrittenBy(input.writtenBy);
  const shaped = shapeBatch(input.events, deps.limits);
  const rules = await deps.sessionRules.lookup(deps.pool, tenantId, sessionId);
  if (rules === undefined) return { result: rejected('session_not_found', sessionId, null) };
  const registry = deps.catalog.find(rules.rules, rules.rulesVersion);
  if (registry === undefined) {
    throw new AgateError(
      'unknown_rules',
      `Session ${sessionId} plays ${rules.rules} v${rules.rulesVersion}, which this server does not know; run a version of agate that registers those rules.`,
    );
  }
  const ref = { tenantId, sessionId };
  const prepared = await prepareFor(deps, ref, registry, shaped, input.recordedSeeds === true);
  const call = { tenantId, sessionId, expected, writtenBy };
  const row = await callAppend(executor, call, prepared, deps.limits.lockTimeoutMs);
  if (row.outcome === 'event_id_conflict') {
    const index = row.conflict_index ?? 0;
    return { result: idConflict(sessionId, row.last_sequence, index, prepared) };
  }
  if (row.outcome !== 'appended' && row.outcome !== 'duplicate') {
    return { result: rejected(row.outcome, sessionId, row.last_sequence) };
  }
  const first = row.first_sequence ?? 0;
  const accepted: AppendAccepted = {
    ok: true,
    duplicate: row.outcome === 'duplicate',
    firstSequence: first,
    lastSequence: first + prepared.length - 1,
    events: prepared.map((e, i) => ({ eventId: e.eventId, sequence: first + i })),
  };
  if (accepted.duplicate) return { result: accepted };
  const batch: AppendedBatch = {
    ...ref,
    rules: rules.rules,
    rulesVersion: rules.rulesVersion,
    firstSequence: accepted.firstSequence,
    lastSequence: accepted.lastSequence,
    types: prepared.map((e) => e.type),
  };
  return { result: accepted, batch };
}

/** Each hook in turn; one that throws is reported once and does not stop the next. */
async function runAfterAppend(deps: StoreDeps, batch: AppendedBatch): Promise<void> {
  for (const hook of deps.afterAppend) {
    try {
      await hook(batch);
    } catch (error) {
      deps.onAfterAppendError?.(error, batch);
    }
  }
}
