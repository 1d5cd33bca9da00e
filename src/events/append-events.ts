import { AgateError } from '../errors/index.js';
import type { PoolClient, Queryable } from '../db/index.js';
import { callAppend } from './append-call.js';
import type { AppendCall } from './append-call.js';
import { appendJudged } from './append-judged.js';
import { accepted, idConflict, rejected } from './append-result.js';
import type { AppendInput, AppendResult } from './append-result.js';
import { verdictModes } from './batch-judge.js';
import type { VerdictMode } from './batch-judge.js';
import { checkRef } from './get-session.js';
import { fetchEventSeeds } from './event-seeds.js';
import { prepareBatch, serverSeedIds, shapeBatch } from './prepare-batch.js';
import type { PreparedEvent, ShapedEvent } from './prepare-batch.js';
import type { EventTypeRegistry } from '../game/index.js';
import type { AppendedBatch, StoreDeps } from './store-deps.js';
import { checkWrittenBy } from './written-by.js';

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

function checkVerdicts(deps: StoreDeps, mode: unknown, inTransaction: boolean): VerdictMode | null {
  if (mode === undefined || mode === null) return null;
  const known = verdictModes.find((m) => m === mode);
  if (known === undefined) {
    throw new AgateError(
      'invalid_request',
      'verdicts must be "report" or "refuse" (or leave it out).',
    );
  }
  if (inTransaction) {
    throw new AgateError(
      'invalid_request',
      'Verdicts are judged from committed state, so appendEventsInTransaction cannot give them; append with verdicts through appendEvents, outside a transaction.',
    );
  }
  if (deps.judge === undefined) {
    throw new AgateError(
      'invalid_request',
      'This event store has no rules to judge with; create it through createAgate (or give createEventStore a judge) to append with verdicts.',
    );
  }
  return known;
}

/** The batch validated and hashed, with the server's seeds fetched only when an event needs one. */
export async function prepareFor(
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
 * (`deriveEventSeed`, one extra statement for such batches only). With `verdicts` the batch is
 * judged by the store's `judge` from the committed state it is then stored after (ADR 0030,
 * `appendJudged`); `refuse` stores nothing when an event is rejected (`rules_rejected`). Invalid
 * input throws an `AgateError` before anything is written; refusals by the session's state are
 * returned.
 */
export async function appendEvents(deps: StoreDeps, input: AppendInput): Promise<AppendResult> {
  const { result, batch } = await storeBatch(deps, deps.pool, input, false);
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
  return (await storeBatch(deps, tx, input, true)).result;
}

/** Checks, prepares and stores one batch through `executor`; the batch is set when new events were stored. */
async function storeBatch(
  deps: StoreDeps,
  executor: Queryable,
  input: AppendInput,
  inTransaction: boolean,
): Promise<{ result: AppendResult; batch?: AppendedBatch }> {
  const { tenantId, sessionId } = checkRef(input);
  const expected = checkExpected(input.expectedSequence);
  const mode = checkVerdicts(deps, input.verdicts, inTransaction);
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
  const { lockTimeoutMs } = deps.limits;
  const judge = mode === null ? undefined : deps.judge;
  const accepted =
    mode === null || judge === undefined
      ? await appendPlain(executor, call, prepared, lockTimeoutMs)
      : await deps.judging(`${tenantId}/${sessionId}`.toLowerCase(), () =>
          appendJudged({
            executor,
            judge,
            mode,
            call,
            request: { tenantId, sessionId, rules, events: prepared },
            lockTimeoutMs,
          }),
        );
  if (!accepted.ok || accepted.duplicate) return { result: accepted };
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

async function appendPlain(
  executor: Queryable,
  call: AppendCall,
  prepared: readonly PreparedEvent[],
  lockTimeoutMs: number,
): Promise<AppendResult> {
  const row = await callAppend(executor, call, prepared, lockTimeoutMs);
  if (row.outcome === 'event_id_conflict') {
    return idConflict(call.sessionId, row.last_sequence, row.conflict_index ?? 0, prepared);
  }
  if (row.outcome !== 'appended' && row.outcome !== 'duplicate') {
    return rejected(row.outcome, call.sessionId, row.last_sequence);
  }
  return accepted(row.first_sequence ?? 0, prepared, row.outcome === 'duplicate');
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
