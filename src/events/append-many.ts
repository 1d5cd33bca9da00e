import { AgateError, isAgateError } from '../errors/index.js';
import { fromPgError, isUuid, requireTenantId } from '../db/index.js';
import { prepareFor } from './append-events.js';
import type {
  AppendManyInput,
  AppendManyResult,
  SessionAppendResult,
} from './append-many-result.js';
import { sessionFailureReasons } from './append-many-result.js';
import type { AppendSessionFailed, SessionFailureReason } from './append-many-result.js';
import { accepted, idConflict, rejected } from './append-result.js';
import type { AppendResult } from './append-result.js';
import { callAppendSessions } from './append-sessions-call.js';
import type { SessionCall, SessionOutcomeRow } from './append-sessions-call.js';
import { shapeBatch } from './prepare-batch.js';
import type { SessionRules } from './session-rules.js';
import type { AppendedBatch, StoreDeps } from './store-deps.js';
import { checkWrittenBy } from './written-by.js';

type Checked = { sessionId: string; expected: number | null; events: unknown };

/** A session ready for the append call, or its result already (it failed validation). */
type Prepared =
  | { ready: true; call: SessionCall; rules: SessionRules }
  | { ready: false; result: AppendResult | AppendSessionFailed };

function failed(
  reason: SessionFailureReason,
  message: string,
  details?: Readonly<Record<string, unknown>>,
): AppendSessionFailed {
  return { ok: false, reason, message, currentSequence: null, ...(details ? { details } : {}) };
}

/** The request as a whole: the tenant, 1..limit batches, distinct sessions, valid sequences. */
function checkRequest(deps: StoreDeps, input: AppendManyInput): Checked[] {
  const batches: unknown = input.batches;
  const limit = deps.limits.maxSessionsPerAppend;
  if (!Array.isArray(batches) || batches.length === 0) {
    throw new AgateError(
      'invalid_request',
      'batches must be a non-empty array of session batches.',
    );
  }
  if (batches.length > limit) {
    throw new AgateError(
      'batch_too_large',
      `One request appends to at most ${limit} sessions and this one names ${batches.length}; split it into several requests.`,
      { details: { sessions: batches.length, limit } },
    );
  }
  const seen = new Set<string>();
  return (batches as unknown[]).map((item, index) => {
    if (typeof item !== 'object' || item === null) {
      throw new AgateError(
        'invalid_request',
        `batches[${index}] must be an object { sessionId, events, expectedSequence? }.`,
      );
    }
    const batch = item as Partial<AppendManyInput['batches'][number]>;
    const raw = String(batch.sessionId);
    const sessionId = isUuid(raw) ? raw.toLowerCase() : raw;
    if (seen.has(sessionId)) {
      throw new AgateError(
        'invalid_request',
        `batches[${index}] names session ${sessionId} again; send each session once per request, its events in one batch.`,
      );
    }
    seen.add(sessionId);
    const expected = batch.expectedSequence ?? null;
    if (expected !== null && (!Number.isSafeInteger(expected) || expected < 0)) {
      throw new AgateError(
        'invalid_request',
        `batches[${index}].expectedSequence must be a non-negative integer (or leave it out).`,
      );
    }
    return { sessionId, expected, events: batch.events };
  });
}

/** Validates and hashes one session's batch; an invalid batch becomes that session's result. */
async function prepareSession(
  deps: StoreDeps,
  tenantId: string,
  batch: Checked,
): Promise<Prepared> {
  const { sessionId } = batch;
  if (!isUuid(sessionId)) {
    return { ready: false, result: rejected('session_not_found', sessionId, null) };
  }
  try {
    const shaped = shapeBatch(batch.events, deps.limits);
    const rules = await deps.sessionRules.lookup(deps.pool, tenantId, sessionId);
    if (rules === undefined) {
      return { ready: false, result: rejected('session_not_found', sessionId, null) };
    }
    const registry = deps.catalog.find(rules.rules, rules.rulesVersion);
    if (registry === undefined) {
      const message = `Session ${sessionId} plays ${rules.rules} v${rules.rulesVersion}, which this server does not know; run a version of agate that registers those rules.`;
      return { ready: false, result: failed('unknown_rules', message) };
    }
    const prepared = await prepareFor(deps, { tenantId, sessionId }, registry, shaped, false);
    return { ready: true, call: { sessionId, expected: batch.expected, prepared }, rules };
  } catch (error) {
    const reason = sessionFailureReasons.find((r) => isAgateError(error, r));
    if (reason === undefined || !isAgateError(error)) throw error;
    return { ready: false, result: failed(reason, error.message, error.details) };
  }
}

/** A session's row as the single append's result shape (or a failure of this session only). */
function fromRow(row: SessionOutcomeRow, call: SessionCall): AppendResult | AppendSessionFailed {
  const { sessionId, prepared } = call;
  switch (row.outcome) {
    case 'session_busy':
      return failed(
        'session_busy',
        `Session ${sessionId} is locked by another writer for longer than the lock timeout; nothing of its batch was stored. Retry the same batch (same event ids), it is idempotent.`,
      );
    case 'failed': {
      const error = fromPgError(
        Object.assign(new Error(row.error_message ?? ''), { code: row.error_state }),
      );
      const reason = sessionFailureReasons.find((r) => r === error.code) ?? 'internal';
      const message =
        reason === 'internal'
          ? `The append to session ${sessionId} failed (${row.error_state}: ${row.error_message}) and stored nothing of its batch; the other sessions were not affected.`
          : error.message;
      return failed(reason, message);
    }
    case 'event_id_conflict':
      return idConflict(sessionId, row.last_sequence, row.conflict_index ?? 0, prepared);
    case 'session_not_found':
    case 'session_ended':
    case 'sequence_conflict':
      return rejected(row.outcome, sessionId, row.last_sequence);
    case 'appended':
    case 'duplicate':
      return accepted(row.first_sequence ?? 0, prepared, row.outcome === 'duplicate');
  }
}

/**
 * Appends to up to `maxSessionsPerAppend` sessions of one tenant in one statement and one commit
 * (`game.append_sessions`, migrations/repeatable/game.append_sessions.sql), each session's batch
 * atomic and checked like `appendEvents` checks a batch. One session's refusal, invalid batch,
 * busy lock (`session_busy`, retryable) or failed append is that session's result and never
 * affects the others; results come back in the input's order. A malformed request as a whole
 * (no batches, more than the limit, a session twice, a bad expectedSequence or writtenBy) throws
 * and stores nothing. The after-append work runs after the commit for each stored batch (the
 * feed wake merges a tenant's notifications, so one request sends one).
 */
export async function appendMany(
  deps: StoreDeps,
  input: AppendManyInput,
): Promise<AppendManyResult> {
  const checked = checkRequest(deps, input);
  const tenantId = requireTenantId(input.tenantId);
  const writtenBy = checkWrittenBy(input.writtenBy);
  const sessions = await Promise.all(checked.map((b) => prepareSession(deps, tenantId, b)));
  const ready = sessions.flatMap((s) => (s.ready ? [s] : []));
  const rows =
    ready.length === 0
      ? []
      : await callAppendSessions(
          deps.pool,
          tenantId,
          ready.map((s) => s.call),
          deps.limits.lockTimeoutMs,
          writtenBy,
        );
  const stored: AppendedBatch[] = [];
  let next = 0;
  const results = sessions.map((s, index): SessionAppendResult => {
    const sessionId = checked[index]?.sessionId ?? '';
    if (!s.ready) return { ...s.result, sessionId };
    const row = rows[next];
    next += 1;
    if (row === undefined) throw new AgateError('internal', `No outcome for session ${sessionId}.`);
    const result = fromRow(row, s.call);
    if (result.ok && !result.duplicate) {
      stored.push({
        tenantId,
        sessionId,
        rules: s.rules.rules,
        rulesVersion: s.rules.rulesVersion,
        firstSequence: result.firstSequence,
        lastSequence: result.lastSequence,
        types: s.call.prepared.map((e) => e.type),
      });
    }
    return { ...result, sessionId };
  });
  for (const batch of stored) await runHooks(deps, batch);
  return { results };
}

/** Each hook in turn; one that throws is reported once and does not stop the next. */
async function runHooks(deps: StoreDeps, batch: AppendedBatch): Promise<void> {
  for (const hook of deps.afterAppend) {
    try {
      await hook(batch);
    } catch (error) {
      deps.onAfterAppendError?.(error, batch);
    }
  }
}
