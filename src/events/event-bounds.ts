/** What a read of a session's events needs to know of the session: how far it goes and when. */
export type EventBounds = {
  lastSequence: number;
  firstEventAt: Date | null;
  lastEventAt: Date | null;
};

/**
 * The bounds of a session as read from its row. JS dates hold milliseconds and PostgreSQL
 * microseconds: the parsed first time is floored already, so the last one is widened by a
 * millisecond to keep the newest event inside the bounds.
 */
export function boundsOf(session: EventBounds): EventBounds {
  return {
    lastSequence: session.lastSequence,
    firstEventAt: session.firstEventAt,
    lastEventAt: session.lastEventAt && new Date(session.lastEventAt.getTime() + 1),
  };
}
