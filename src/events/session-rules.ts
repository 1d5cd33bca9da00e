import { fromPgError } from '../db/index.js';
import type { Pool } from '../db/index.js';

export type SessionRules = { rules: string; rulesVersion: number };

/**
 * A session's rules never change after creation, so the append path remembers them and validates
 * a batch against the right event types without a query per append. Bounded; oldest out first.
 */
export class SessionRulesCache {
  readonly #entries = new Map<string, SessionRules>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  remember(tenantId: string, sessionId: string, rules: SessionRules): void {
    const key = `${tenantId}/${sessionId}`;
    this.#entries.delete(key);
    this.#entries.set(key, rules);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  /** The session's rules as its tenant sees them; undefined for a missing or foreign session. */
  async lookup(pool: Pool, tenantId: string, sessionId: string): Promise<SessionRules | undefined> {
    const cached = this.#entries.get(`${tenantId}/${sessionId}`);
    if (cached !== undefined) return cached;
    // One autocommit statement: game.session_rules (migrations/repeatable/game.session_rules.sql)
    // answers for this tenant's session only.
    let found: { rules: string; rules_version: number } | undefined;
    try {
      const result = await pool.query<{ rules: string; rules_version: number }>(
        'SELECT rules, rules_version FROM game.session_rules($1, $2)',
        [tenantId, sessionId],
      );
      found = result.rows[0];
    } catch (error) {
      throw fromPgError(error);
    }
    if (found === undefined) return undefined;
    const rules = { rules: found.rules, rulesVersion: found.rules_version };
    this.remember(tenantId, sessionId, rules);
    return rules;
  }
}
