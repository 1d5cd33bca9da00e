import { uuidv7 } from 'uuidv7';
import type { Pool, PoolClient } from '../../src/db/index.js';
import type { Session } from '../../src/events/index.js';
import { chainLink, eventContentHash } from '../../src/hashing/index.js';

// Writers for the feed's tests: a transaction that takes its id first and commits (or rolls
// back) when the test says, so its events commit after later ones.

/** A transaction that has taken its id and holds the feed's horizon until it ends. */
export async function openWriter(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_current_xact_id()');
  return client;
}

/** Inserts `count` events for `s` in the caller's open transaction, chained as the store does. */
export async function insertIn(client: PoolClient, s: Session, count: number): Promise<void> {
  const row = await client.query<{ last_sequence: number; head_hash: Buffer }>(
    'SELECT last_sequence, head_hash FROM game.sessions WHERE id = $1 FOR UPDATE',
    [s.id],
  );
  let head = row.rows[0]?.head_hash ?? Buffer.alloc(0);
  let sequence = row.rows[0]?.last_sequence ?? 0;
  for (let i = 0; i < count; i += 1) {
    sequence += 1;
    const event = {
      eventId: uuidv7(),
      type: 'counter.incremented',
      version: 1,
      data: { by: 100 + i },
    };
    head = chainLink(head, sequence, eventContentHash(event));
    await client.query(
      `INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type, event_version,
                                event_data, server_time, hash, written_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), $8, 'test')`,
      [
        event.eventId,
        s.tenantId,
        s.id,
        sequence,
        event.type,
        event.version,
        JSON.stringify(event.data),
        head,
      ],
    );
  }
  await client.query(
    `UPDATE game.sessions SET last_sequence = $2, head_hash = $3,
            first_event_at = coalesce(first_event_at, clock_timestamp()), last_event_at = clock_timestamp()
      WHERE id = $1`,
    [s.id, sequence, head],
  );
}
