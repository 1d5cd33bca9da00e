import { getSession } from './get-session.js';
import type { SessionRef } from './get-session.js';
import type { Session } from './session.js';
import type { StoreDeps } from './store-deps.js';

/** What a session starts from (seed, rules, config), never changed after creation: all a fold needs besides events. */
export type SessionOrigin = Pick<
  Session,
  'id' | 'tenantId' | 'seed' | 'rules' | 'rulesVersion' | 'config'
>;

export type SessionOrigins = {
  /** The session's origin as its tenant sees it; `session_not_found` for a missing or foreign one. */
  get(ref: SessionRef): Promise<SessionOrigin>;
};

/**
 * A bounded memory of session origins (oldest out first), for consumers that fold every session's
 * new events: without it, each batch of each session costs a read of the session row. Only what
 * the store never changes is kept; a session not found is not remembered.
 */
export function sessionOrigins(deps: Pick<StoreDeps, 'pool'>, capacity = 10_000): SessionOrigins {
  const entries = new Map<string, SessionOrigin>();
  return {
    async get(ref) {
      const key = `${ref.tenantId}/${ref.sessionId}`.toLowerCase();
      const known = entries.get(key);
      if (known !== undefined) return known;
      const { id, tenantId, seed, rules, rulesVersion, config } = await getSession(deps, ref);
      const origin = { id, tenantId, seed, rules, rulesVersion, config };
      entries.set(key, origin);
      if (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
      return origin;
    },
  };
}
