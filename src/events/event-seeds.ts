// Server-drawn per-event seeds (ADR 0013): seed = the first 16 bytes of HMAC-SHA256(the session's
// secret, the event id's 16 bytes), as hex. The same id in the same session always gets the same
// seed, on any process and after a tenant move (the secret moves with the session), so a faithful
// retry hashes the same; without the secret, which no client-facing role can read and no route
// returns, a client cannot tell a seed before the event is stored.
import { randomBytes } from 'node:crypto';
import { AgateError } from '../errors/index.js';
import { fromPgError } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';

export { deriveEventSeed } from '../hashing/index.js';

/** 32 bytes from the CSPRNG, drawn once per session and stored in game.session_secrets. */
export function drawSessionSecret(): Buffer {
  return randomBytes(32);
}

/**
 * Stores a new session's secret in the caller's transaction (agate_app in the session's tenant:
 * it may insert a secret, never read one).
 */
export async function insertSessionSecret(
  tx: PoolClient,
  tenantId: string,
  sessionId: string,
  secret: Buffer,
): Promise<void> {
  await tx.query(
    'INSERT INTO game.session_secrets (session_id, tenant_id, secret) VALUES ($1, $2, $3)',
    [sessionId, tenantId, secret],
  );
}

/**
 * The seeds of `eventIds` in one session of `tenantId`, derived in the database by
 * `game.event_seeds` (`migrations/repeatable/game.event_seeds.sql`; one autocommit statement;
 * the secret never leaves PostgreSQL). Throws when the session has no secret, which migration
 * 0008 and every session write path rule out.
 */
export async function fetchEventSeeds(
  pool: Pool,
  tenantId: string,
  sessionId: string,
  eventIds: readonly string[],
): Promise<Map<string, string>> {
  let rows: { event_id: string; seed: string }[];
  try {
    const result = await pool.query<{ event_id: string; seed: string }>(
      // The ids as a JSON array: the embedded database takes no array parameters.
      `SELECT event_id, seed
         FROM game.event_seeds($1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)::uuid))`,
      [tenantId, sessionId, JSON.stringify(eventIds)],
    );
    rows = result.rows;
  } catch (error) {
    throw fromPgError(error);
  }
  if (rows.length !== eventIds.length) {
    throw new AgateError(
      'internal',
      `Session ${sessionId} has no seed secret; run agate migrate (migration 0008 gives every session one).`,
    );
  }
  return new Map(rows.map((r) => [r.event_id, r.seed]));
}
