// The SQL of analytics.events (and analytics_archive.events, where retention keeps its old
// months): the only module that holds it. Invariants: every statement runs in the caller's
// transaction, under its tenant (RLS forced: another tenant's rows are invisible and cannot be
// written); rows are only inserted, never changed (the table's triggers refuse UPDATE, DELETE
// and TRUNCATE); pages come in (server_time, session_id, sequence) order, each branch walking
// one of the tenant's indexes in that order and stopping at the limit, merged without a sort.
import type { PoolClient } from '../db/index.js';
import { clientTimeSql, storedClientTime } from '../events/index.js';
import type { AnalyticsValue } from '../game/index.js';
import type { AnalyticsRow } from './analytics-row.js';

/**
 * Inserts the rows in one statement. `ON CONFLICT DO NOTHING` is a guard, not the proof: the
 * consumer's checkpoint, written in the same transaction, is what makes each row exactly once.
 */
export async function insertAnalyticsRows(
  tx: PoolClient,
  rows: readonly AnalyticsRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(pick: (row: AnalyticsRow) => T) => rows.map(pick);
  await tx.query(
    `INSERT INTO analytics.events (tenant_id, session_id, sequence, event_id, event_type,
                                   event_version, server_time, client_time, player_id, rules,
                                   rules_version, fields)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[],
                          $6::integer[], $7::timestamptz[], $8::timestamptz[], $9::uuid[],
                          $10::text[], $11::integer[], $12::jsonb[])
     ON CONFLICT DO NOTHING`,
    [
      column((r) => r.tenantId),
      column((r) => r.sessionId),
      column((r) => r.sequence),
      column((r) => r.eventId),
      column((r) => r.type),
      column((r) => r.version),
      column((r) => r.serverTime),
      column((r) => r.clientTime),
      column((r) => r.playerId),
      column((r) => r.rules),
      column((r) => r.rulesVersion),
      column((r) => JSON.stringify(r.fields)),
    ],
  );
}

/** Where a page starts: after this row in (server_time, session_id, sequence) order. */
export type AnalyticsKey = { serverTime: string; sessionId: string; sequence: number };

export type AnalyticsPageFilter = {
  sessionId: string | null;
  playerId: string | null;
  /** Sorted, distinct; null: every type. */
  types: readonly string[] | null;
  /** Server time at or after (canonical RFC 3339). */
  from: string | null;
  /** Server time before. */
  to: string | null;
  after: AnalyticsKey | null;
  limit: number;
};

type PageRow = {
  tenant_id: string;
  session_id: string;
  sequence: number;
  event_id: string;
  event_type: string;
  event_version: number;
  server_time: string;
  client_time: string | null;
  player_id: string | null;
  rules: string;
  rules_version: number;
  fields: Record<string, AnalyticsValue>;
};

/** The statement and its values; exported for the plan test. */
export function analyticsPageQuery(filter: AnalyticsPageFilter): {
  text: string;
  values: unknown[];
} {
  const values: unknown[] = [filter.limit];
  const param = (value: unknown, type: string) => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const where = [
    filter.sessionId === null ? null : `session_id = ${param(filter.sessionId, 'uuid')}`,
    filter.playerId === null ? null : `player_id = ${param(filter.playerId, 'uuid')}`,
    filter.types === null ? null : `event_type = ANY(${param(filter.types, 'text[]')})`,
    filter.from === null ? null : `server_time >= ${param(filter.from, 'timestamptz')}`,
    filter.to === null ? null : `server_time < ${param(filter.to, 'timestamptz')}`,
    filter.after === null
      ? null
      : `(server_time, session_id, sequence) > (${param(filter.after.serverTime, 'timestamptz')}, ` +
        `${param(filter.after.sessionId, 'uuid')}, ${param(filter.after.sequence, 'bigint')})`,
  ].filter((c) => c !== null);
  const condition = where.length === 0 ? 'true' : where.join('\n                AND ');
  const order = 'ORDER BY server_time, session_id, sequence LIMIT $1';
  const branch = (table: string) =>
    `(SELECT * FROM ${table} WHERE ${condition}
       ${order})`;
  const text = `SELECT tenant_id, session_id, sequence, event_id, event_type, event_version,
         ${clientTimeSql('server_time')} AS server_time, ${clientTimeSql('client_time')} AS client_time,
         player_id, rules, rules_version, fields
    FROM (${branch('analytics.events')}
          UNION ALL
          ${branch('analytics_archive.events')}
          ${order}) AS a
   ORDER BY a.server_time, a.session_id, a.sequence`;
  return { text, values };
}

/** A page of the tenant's rows; in the caller's transaction. */
export async function selectAnalyticsPage(
  tx: PoolClient,
  filter: AnalyticsPageFilter,
): Promise<AnalyticsRow[]> {
  const { text, values } = analyticsPageQuery(filter);
  const result = await tx.query<PageRow>(text, values);
  return result.rows.map((r) => ({
    tenantId: r.tenant_id,
    sessionId: r.session_id,
    sequence: r.sequence,
    eventId: r.event_id,
    type: r.event_type,
    version: r.event_version,
    serverTime: storedClientTime(r.server_time) ?? r.server_time,
    clientTime: storedClientTime(r.client_time),
    playerId: r.player_id,
    rules: r.rules,
    rulesVersion: r.rules_version,
    fields: r.fields,
  }));
}
