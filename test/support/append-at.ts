import type { Pool } from '../../src/db/index.js';
import type { Session } from '../../src/events/index.js';
import { chainLink, eventContentHash } from '../../src/hashing/index.js';
import { uuidv7 } from 'uuidv7';

/**
 * Appends events stamped with a chosen server_time, as a game server whose clock ran far ahead
 * would leave them: written as the owner with the same hash chain the append function builds.
 * Only tests use this; the store always stamps server_time itself.
 */
export type EventInput = { type: string; version: number; data: Record<string, unknown> };

/** `count` events of the tiny test game. */
export function tinyEvents(count: number): EventInput[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'counter.incremented',
    version: 1,
    data: { by: i },
  }));
}

export async function appendAt(
  pool: Pool,
  session: Session,
  at: Date,
  inputs: readonly EventInput[],
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const row = await client.query<{ last_sequence: number; head_hash: Buffer }>(
      'SELECT last_sequence, head_hash FROM game.sessions WHERE id = $1 FOR UPDATE',
      [session.id],
    );
    let head = row.rows[0]?.head_hash ?? Buffer.alloc(0);
    let sequence = row.rows[0]?.last_sequence ?? 0;
    for (const input of inputs) {
      sequence += 1;
      const event = { eventId: uuidv7(), ...input };
      head = chainLink(head, sequence, eventContentHash(event));
      await client.query(
        `INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type, event_version, event_data, server_time, hash, written_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'library')`,
        [
          event.eventId,
          session.tenantId,
          session.id,
          sequence,
          event.type,
          event.version,
          JSON.stringify(event.data),
          at,
          head,
        ],
      );
    }
    await client.query(
      `UPDATE game.sessions SET last_sequence = $2, head_hash = $3, last_event_at = greatest(last_event_at, $4),
              first_event_at = coalesce(first_event_at, $4) WHERE id = $1`,
      [session.id, sequence, head, at],
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
