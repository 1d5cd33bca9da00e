import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { players, requireTenantId, violatedConstraint, withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { toPlayer } from './player.js';
import type { Player } from './player.js';

export type CreatePlayerInput = {
  tenantId: string;
  /** The game's own id for the player; unique in the tenant. PII. */
  externalRef?: string;
  /** PII. */
  displayName?: string;
  /** PII. */
  email?: string;
};

/** Longest accepted value of each field, in UTF-16 code units (the API's schema uses these too). */
export const playerLimits = { externalRef: 200, displayName: 200, email: 254 } as const;

const controlOrUnpaired =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const emailShape = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

function checkText(name: keyof typeof playerLimits, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const max = playerLimits[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new AgateError(
      'invalid_request',
      `${name} must be a non-empty string of at most ${max} characters (or leave it out).`,
    );
  }
  if (controlOrUnpaired.test(value)) {
    throw new AgateError(
      'invalid_request',
      `${name} contains a control character or an unpaired surrogate; remove it.`,
    );
  }
  return value;
}

function checkInput(input: CreatePlayerInput): Omit<CreatePlayerInput, 'tenantId'> {
  const email = checkText('email', input.email);
  if (email !== undefined && !emailShape.test(email)) {
    throw new AgateError(
      'invalid_request',
      'email must look like name@example.org (one @, a dotted domain, no spaces), or leave it out.',
    );
  }
  return {
    externalRef: checkText('externalRef', input.externalRef),
    displayName: checkText('displayName', input.displayName),
    email,
  };
}

/**
 * Creates a player (UUIDv7 id) as agate_app in the tenant. Sessions then name it by id; the
 * PII given here stays in public.players only, until `erasePlayer` clears it.
 */
export async function createPlayer(pool: Pool, input: CreatePlayerInput): Promise<Player> {
  const tenantId = requireTenantId(input.tenantId);
  const fields = checkInput(input);
  try {
    const [row] = await withTenant(pool, { tenantId }, (tx) =>
      drizzle(tx)
        .insert(players)
        .values({
          id: uuidv7(),
          tenantId,
          externalRef: fields.externalRef ?? null,
          displayName: fields.displayName ?? null,
          email: fields.email ?? null,
        })
        .returning(),
    );
    if (row === undefined) throw new AgateError('internal', 'The player insert returned no row.');
    return toPlayer(row);
  } catch (error) {
    switch (violatedConstraint(error)) {
      case 'players_tenant_id_external_ref_key':
        throw new AgateError(
          'invalid_request',
          'A player with this externalRef already exists in this tenant; use that player, or give another externalRef.',
          { cause: error },
        );
      case 'players_tenant_id_tenants_id_fk':
        throw new AgateError(
          'tenant_not_found',
          `Tenant ${tenantId} does not exist; create it first (agate tenants create).`,
          { cause: error },
        );
      default:
        throw error;
    }
  }
}
