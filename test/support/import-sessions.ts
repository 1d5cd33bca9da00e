import { uuidv7 } from 'uuidv7';
import type { NewEvent } from '../../src/events/index.js';
import { defaultGames, playSession } from '../../src/game/index.js';
import { defaultLimits } from '../../src/events/index.js';
import { prepareRecordedSession } from '../../src/import/index.js';
import type { PreparedSession, RecordedSession } from '../../src/import/index.js';
import type { Pool } from '../../src/db/index.js';
import type { TestDatabase } from './test-database.js';

// Recorded sessions for the import tests, and what the owner (no RLS) finds of them afterwards.

export function clientTimeOf(i: number): string {
  const at = new Date(Date.UTC(2026, 10, 1) + i * 1_234_567 + (i % 1000));
  return i % 2 === 0 ? at.toISOString() : at.toISOString().replace('Z', '+00:00');
}

/** A bot-played archive-gate session (day boundaries, old event versions, seeds) with event ids. */
export function recorded(seed: string, length: number, options: { ended?: boolean } = {}) {
  const played = playSession(seed, {}, length, `${seed}-bot`, { oldVersionEveryN: 7 });
  // Every third event carries the client's clock, some with an offset, to the millisecond.
  const events: NewEvent[] = played.map((e, i) => ({
    ...e,
    eventId: uuidv7(),
    ...(i % 3 === 0 ? { clientTime: clientTimeOf(i) } : {}),
  }));
  if (options.ended === true) events.push({ eventId: uuidv7(), type: 'session.ended', data: {} });
  return { seed, rules: 'archive-gate', config: {}, events } satisfies RecordedSession;
}

/** A recorded session prepared for `tenantId` as the import prepares it. */
export function prepare(tenantId: string, session: RecordedSession): PreparedSession {
  const settings = { tenantId, limits: defaultLimits, maxSessionEvents: 1_000 };
  return prepareRecordedSession(defaultGames, settings, session);
}

type EventRow = {
  sequence: number;
  event_id: string;
  event_type: string;
  client_time: Date | null;
  hash: string;
};
type SnapshotRow = { sequence: number; reason: string; state_hash: string; rules_version: number };

/** What the owner (no RLS) finds of a session: its row, events and snapshots. */
export async function stored(target: TestDatabase, sessionId: string) {
  const session = await target.pool.query<{
    tenant_id: string;
    status: string;
    last_sequence: number;
    head_hash: string;
    first_event_at: Date;
    last_event_at: Date;
  }>(
    `SELECT tenant_id, status, last_sequence, encode(head_hash, 'hex') AS head_hash, first_event_at,
            last_event_at FROM game.sessions WHERE id = $1`,
    [sessionId],
  );
  const events = await target.pool.query<EventRow & { data: unknown; version: number }>(
    `SELECT sequence, event_id, event_type, event_version AS version, event_data AS data,
            client_time, encode(hash, 'hex') AS hash
       FROM game.events WHERE session_id = $1 ORDER BY sequence`,
    [sessionId],
  );
  const snapshots = await target.pool.query<SnapshotRow>(
    `SELECT sequence, reason, encode(state_hash, 'hex') AS state_hash, rules_version
       FROM game.snapshots WHERE session_id = $1 ORDER BY sequence`,
    [sessionId],
  );
  return { session: session.rows[0], events: events.rows, snapshots: snapshots.rows };
}

/** count(*) FROM `sql` (fixed text of the test, never input). */
export async function countIn(pool: Pool, sql: string, params: unknown[]): Promise<number> {
  const r = await pool.query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${sql}`, params);
  return r.rows[0]?.n ?? -1;
}
