// One recorded session into a new session, in one transaction begun as agate_app in the tenant
// (row-level security on): the session row and its snapshots (`insertSessionRow`), then its events
// (`writeEvents`: a guarded COPY into the month partition, or an INSERT under row-level security).
// All of it commits or none of it does.
import { AgateError } from '../errors/index.js';
import { violatedConstraint, withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { insertSessionRow } from './insert-session-row.js';
import type { PreparedSession } from './prepare-session.js';
import { writeEvents } from './write-events.js';

function constraintError(error: unknown, session: PreparedSession): AgateError | undefined {
  switch (violatedConstraint(error)) {
    case 'sessions_tenant_id_tenants_id_fk':
      return new AgateError(
        'tenant_not_found',
        `Tenant ${session.tenantId} does not exist; create it first (agate tenants create).`,
        { cause: error },
      );
    case 'sessions_player_fk':
      return new AgateError(
        'invalid_request',
        `Player ${String(session.identity.playerId)} does not exist in this tenant; create the player first or leave playerId out.`,
        { cause: error },
      );
    case 'sessions_pkey':
      return new AgateError(
        'invalid_request',
        `A session with id ${session.identity.id} already exists; choose another id or leave it out.`,
        { cause: error },
      );
    default:
      return undefined;
  }
}

/** Writes one prepared session in its own transaction; a failure leaves nothing of it behind. */
export async function writeSession(
  pool: Pool,
  session: PreparedSession,
): Promise<{ events: number; snapshots: number }> {
  try {
    return await withTenant(pool, { tenantId: session.tenantId }, async (tx) => {
      const row = await insertSessionRow(tx, session);
      await writeEvents(pool, tx, session, row);
      return { events: session.events.length, snapshots: row.snapshots };
    });
  } catch (error) {
    throw constraintError(error, session) ?? error;
  }
}
