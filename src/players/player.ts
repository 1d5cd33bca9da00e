import type { players } from '../db/index.js';
import { AgateError } from '../errors/index.js';

/** A player as stored: a pseudonymous id, and PII (null once erased) in the marked columns. */
export type Player = {
  id: string;
  tenantId: string;
  externalRef: string | null;
  displayName: string | null;
  email: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** Set when the PII was erased; the id and the sessions stay. */
  erasedAt: Date | null;
};

export function toPlayer(row: typeof players.$inferSelect): Player {
  return {
    id: row.id,
    tenantId: row.tenantId,
    externalRef: row.externalRef,
    displayName: row.displayName,
    email: row.email,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    erasedAt: row.erasedAt,
  };
}

/** A missing player, another tenant's, or an id that is not a UUID: all reported alike. */
export function playerNotFound(playerId: string): AgateError {
  return new AgateError(
    'not_found',
    `Player ${playerId} does not exist in this tenant; check the id (as returned by POST /v1/players) and the API key's tenant.`,
  );
}
