import { appendEvents } from './append-events.js';
import type { AppendResult } from './append-events.js';
import type { SessionRef } from './get-session.js';
import type { StoreDeps } from './store-deps.js';

export type EndSessionInput = SessionRef & {
  reason?: string;
  /** For an idempotent retry of the same end. */
  eventId?: string;
  expectedSequence?: number;
};

/** Ends a session by appending `session.ended`, so the end is in the log and in the hash chain. */
export function endSession(deps: StoreDeps, input: EndSessionInput): Promise<AppendResult> {
  return appendEvents(deps, {
    tenantId: input.tenantId,
    sessionId: input.sessionId,
    expectedSequence: input.expectedSequence,
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
