import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { auditLog, isUuid, requireTenantId, withTenant } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { countPlayerSessions } from '../events/index.js';
import { piiColumns } from './pii-columns.js';
import { playerNotFound } from './player.js';

export type ErasePlayerInput = {
  tenantId: string;
  playerId: string;
  /** Who erases, for the audit log: an admin key's id, or `cli`. */
  actor: string;
};

export type ErasedPlayer = {
  id: string;
  /** When the PII was erased: the first erasure's time on a repeated call. */
  erasedAt: Date;
  /** How many sessions the player has; they and their events stay, under the player's id. */
  sessions: number;
  /** The PII columns set to NULL (empty on a repeated call). */
  clearedColumns: string[];
  /** True when the player had been erased before: nothing changed and nothing was audited. */
  alreadyErased: boolean;
};

type LockedPlayer = { erased_at: Date | null; sessions: number };

/** The player's row, locked, with how many sessions it has (counted once the lock is held). */
async function lockPlayer(tx: PoolClient, playerId: string): Promise<LockedPlayer | undefined> {
  const result = await tx.query<{ erased_at: Date | null }>(
    `SELECT p.erased_at FROM public.players p WHERE p.id = $1 FOR UPDATE OF p`,
    [playerId],
  );
  const row = result.rows[0];
  return row && { erased_at: row.erased_at, sessions: await countPlayerSessions(tx, playerId) };
}

async function clearPii(tx: PoolClient, playerId: string, columns: string[]): Promise<Date> {
  // The names come from the catalog and are checked to be plain identifiers (`piiColumns`).
  const assignments = columns.map((name) => `"${name}" = NULL`).join(', ');
  const result = await tx.query<{ erased_at: Date }>(
    `UPDATE public.players
        SET ${assignments}, erased_at = now(), updated_at = now()
      WHERE id = $1
      RETURNING erased_at`,
    [playerId],
  );
  const row = result.rows[0];
  if (row === undefined) throw new AgateError('internal', 'The locked player row vanished.');
  return row.erased_at;
}

/**
 * Erases a player's PII in one transaction as agate_app in the tenant: locks the player row, sets
 * every column of public.players marked 'pii' in the catalog to NULL, sets erased_at, and writes
 * the audit entry `player.erased` (subject: the player id; details: the columns cleared and the
 * session count, never a value). Sessions and events stay under the pseudonymous id, so replays
 * are unchanged. Idempotent: on an erased player it changes nothing, writes no second entry and
 * answers `alreadyErased: true` with the first erasure's time. `not_found` for a player the
 * tenant does not have.
 */
export async function erasePlayer(pool: Pool, input: ErasePlayerInput): Promise<ErasedPlayer> {
  const tenantId = requireTenantId(input.tenantId);
  if (!isUuid(input.playerId)) throw playerNotFound(String(input.playerId));
  const id = input.playerId.toLowerCase();
  return withTenant(pool, { tenantId }, async (tx) => {
    const locked = await lockPlayer(tx, id);
    if (locked === undefined) throw playerNotFound(id);
    const { sessions } = locked;
    if (locked.erased_at !== null) {
      return { id, erasedAt: locked.erased_at, sessions, clearedColumns: [], alreadyErased: true };
    }
    const columns = await piiColumns(tx);
    const erasedAt = await clearPii(tx, id, columns);
    await drizzle(tx).insert(auditLog).values({
      id: uuidv7(),
      tenantId,
      actor: input.actor,
      action: 'player.erased',
      subject: id,
      details: { columns, sessions },
    });
    return { id, erasedAt, sessions, clearedColumns: columns, alreadyErased: false };
  });
}
