import { AgateError } from '../errors/index.js';

/** A session's state after an append with verdicts, as this process last judged it. */
export type RecentState = {
  sequence: number;
  /** The chain hash at `sequence`, hex; null when the fold that made it could not know it. */
  chainHash: string | null;
  state: unknown;
};

/**
 * The in-process cache of recent states that appends with verdicts start from: keyed by tenant
 * and session (so one tenant's or session's state never serves another), least recently used
 * out first, at most `capacity` sessions. Never trusted past its sequence: the judge compares it
 * with the session row, and folds the stored tail when the session moved on.
 */
export type RecentStates = {
  readonly capacity: number;
  get(tenantId: string, sessionId: string): RecentState | undefined;
  set(tenantId: string, sessionId: string, entry: RecentState): void;
  delete(tenantId: string, sessionId: string): void;
  readonly size: number;
};

/** The default number of sessions whose recent state a process keeps for verdicts. */
export const defaultRecentStates = 10_000;

const keyOf = (tenantId: string, sessionId: string) =>
  `${tenantId.toLowerCase()}/${sessionId.toLowerCase()}`;

export function createRecentStates(capacity = defaultRecentStates): RecentStates {
  if (!Number.isSafeInteger(capacity) || capacity < 0) {
    throw new AgateError(
      'invalid_request',
      `recentStates must be a non-negative integer (sessions kept in memory; 0 keeps none), not ${capacity}.`,
    );
  }
  const entries = new Map<string, RecentState>();
  return {
    capacity,
    get(tenantId, sessionId) {
      const key = keyOf(tenantId, sessionId);
      const entry = entries.get(key);
      if (entry !== undefined) {
        // Map keeps insertion order: re-inserting makes it the most recently used.
        entries.delete(key);
        entries.set(key, entry);
      }
      return entry;
    },
    set(tenantId, sessionId, entry) {
      if (capacity === 0) return;
      const key = keyOf(tenantId, sessionId);
      const current = entries.get(key);
      // A slower judge of an older batch never rolls a session's entry back.
      if (current !== undefined && current.sequence > entry.sequence) return;
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
    },
    delete(tenantId, sessionId) {
      entries.delete(keyOf(tenantId, sessionId));
    },
    get size() {
      return entries.size;
    },
  };
}
