/** What a read of a session's events needs to know of the session: how far it goes and when. */
export type EventBounds = {
  lastSequence: number;
  firstEventAt: Date | null;
  lastEventAt: Date | null;
};
