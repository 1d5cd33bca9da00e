// What the analytics consumer needs from the store for a batch of delivered events, in one
// statement: each event's session (player, rules, rules version) and its exact server time (the
// feed delivers it as a JavaScript Date, to the millisecond; the log keeps microseconds, and an
// analytics row carries the log's value). Invariants: runs in the caller's transaction, under its
// tenant (RLS); each event is found by (session_id, sequence) in the live or archived months,
// within the millisecond the feed delivered, so each probe prunes to the one month holding it.
import type { PoolClient } from '../db/index.js';
import { clientTimeSql, storedClientTime } from './client-time.js';

/** One delivered event, as the feed gives it: where it is and the time it was delivered with. */
export type AnalyticsSourceKey = { sessionId: string; sequence: number; serverTime: Date };

export type AnalyticsSource = {
  sessionId: string;
  sequence: number;
  playerId: string | null;
  rules: string;
  rulesVersion: number;
  /** RFC 3339 in UTC, exact (`storedClientTime`'s form: microseconds when it has them). */
  serverTime: string;
};

type SourceRow = {
  session_id: string;
  sequence: number;
  player_id: string | null;
  rules: string;
  rules_version: number;
  server_time: string;
};

function probe(table: string): string {
  return `(SELECT e.server_time FROM ${table} e
            WHERE e.session_id = x.session_id AND e.sequence = x.sequence
              AND e.server_time >= x.approx AND e.server_time < x.approx + interval '1 millisecond')`;
}

const sourcesQuery = `
  SELECT x.session_id, x.sequence, s.player_id, s.rules, s.rules_version,
         ${clientTimeSql('t.server_time')} AS server_time
    FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS x(session_id, sequence, approx)
    JOIN game.sessions s ON s.id = x.session_id
    CROSS JOIN LATERAL (${probe('game.events')} UNION ALL ${probe('archive.events')} LIMIT 1) AS t`;

/**
 * The sources of these events, keyed `session:sequence`. An event missing from the answer is not
 * in this tenant's log (the caller decides how loud that is).
 */
export async function selectAnalyticsSources(
  tx: PoolClient,
  keys: readonly AnalyticsSourceKey[],
): Promise<Map<string, AnalyticsSource>> {
  const sources = new Map<string, AnalyticsSource>();
  if (keys.length === 0) return sources;
  const result = await tx.query<SourceRow>(sourcesQuery, [
    keys.map((k) => k.sessionId),
    keys.map((k) => k.sequence),
    keys.map((k) => k.serverTime),
  ]);
  for (const r of result.rows) {
    sources.set(`${r.session_id}:${r.sequence}`, {
      sessionId: r.session_id,
      sequence: r.sequence,
      playerId: r.player_id,
      rules: r.rules,
      rulesVersion: r.rules_version,
      serverTime: storedClientTime(r.server_time) ?? r.server_time,
    });
  }
  return sources;
}
