import { appendEvents } from './append-events.js';
import type { AppendResult } from './append-result.js';
import type { SessionRef } from './get-session.js';
import type { StoreDeps } from './store-deps.js';
import type { WrittenBy } from './written-by.js';

export type EndSessionInput = SessionRef & {
  reason?: string;
  /** For an idempotent retry of the same end. */
  eventId?: string;
  expectedSequence?: number;
  /** Recorded in the event row (default `library`). */
  writtenBy?: WrittenBy;
};

/** Ends a session by appending `session.ended`, so the end is in the log and in the hash chain. */
export function endSession(deps: StoreDeps, input: EndSessionInput): Promise<AppendResult> {
  return appendEvents(deps, {
    tenantId: input.tenantId,
    sessionId: input.sessionId,
    expectedSequence: input.expectedSequence,
    writtenBy: input.writtenBy,
    events: [
      {
        type: 'session.ended',
        version: 1,
        eventId: input.eventId,
        data: input.reason === undefined ? {} : { reason: input.reason },
      },
    ],
  });
}
