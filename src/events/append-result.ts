import type { Verdict } from '../game/index.js';
import type { VerdictMode } from './batch-judge.js';
import type { NewEvent } from './event-envelope.js';
import { notFound } from './get-session.js';
import type { PreparedEvent } from './prepare-batch.js';
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
  /**
   * Ask for the rules' verdict on each event (ADR 0030): `report` stores the batch as without
   * it, `refuse` stores nothing when any event is rejected (`rules_rejected`). Absent: no
   * verdicts, and no cost.
   */
  verdicts?: VerdictMode;
};

export type AppendedEvent = { eventId: string; sequence: number };

export type AppendAccepted = {
  ok: true;
  /** True when every event id was already stored: nothing new was written. */
  duplicate: boolean;
  firstSequence: number;
  lastSequence: number;
  events: AppendedEvent[];
  /**
   * With `verdicts` only: the rules' verdict on each event, in batch order, judged from the
   * state just before `firstSequence` (a retry gets the verdicts of the first time).
   */
  verdicts?: Verdict[];
  /** With `verdicts` only: the session's sequence after the batch (`lastSequence`). */
  sequence?: number;
  /** With `verdicts` only: the state hash at `sequence`, as a replay to it returns it. */
  stateHash?: string;
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
    })
  | (Refusal & {
      /** `verdicts: 'refuse'` and the rules reject at least one event; nothing was stored. */
      reason: 'rules_rejected';
      /** Every event's verdict, judged from the state at `currentSequence`. */
      verdicts: Verdict[];
    });

export type AppendResult = AppendAccepted | AppendRejected;

/** The answer to a batch stored from `first` on (or, with `duplicate`, found stored there). */
export function accepted(
  first: number,
  events: readonly { eventId: string }[],
  duplicate: boolean,
): AppendAccepted {
  return {
    ok: true,
    duplicate,
    firstSequence: first,
    lastSequence: first + events.length - 1,
    events: events.map((e, i) => ({ eventId: e.eventId, sequence: first + i })),
  };
}

export function rejected(
  reason: 'session_not_found' | 'session_ended' | 'sequence_conflict',
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

export function idConflict(
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

export function rulesRejected(
  sessionId: string,
  current: number,
  verdicts: Verdict[],
): AppendRejected {
  const index = verdicts.findIndex((v) => !v.accepted);
  const first = verdicts[index];
  const reason = first !== undefined && !first.accepted ? first.reason : '';
  return {
    ok: false,
    reason: 'rules_rejected',
    currentSequence: current,
    verdicts,
    message: `The rules reject events[${index}] (${reason}) at sequence ${current + index + 1} of session ${sessionId}, so nothing was stored (verdicts: "refuse"); change or drop the rejected events and send the batch again, or append with verdicts "report" to store them as rejected.`,
  };
}
