import { drizzle } from 'drizzle-orm/node-postgres';
import { uuidv7 } from 'uuidv7';
import { AgateError } from '../errors/index.js';
import { isUuid, requireTenantId, sessions, violatedConstraint, withTenant } from '../db/index.js';
import { sessionRootHash } from '../hashing/index.js';
import { findJsonProblem } from './check-json.js';
import { findSeedProblem } from './check-seed.js';
import { drawSessionSecret, insertSessionSecret } from './event-seeds.js';
import { drawSeed } from './prepare-batch.js';
import { toSession } from './session.js';
import type { Session } from './session.js';
import type { EventTypeCatalog } from '../game/index.js';
import type { Limits } from './limits.js';
import type { StoreDeps } from './store-deps.js';
import { checkWrittenBy } from './written-by.js';
import type { WrittenBy } from './written-by.js';

export type CreateSessionInput = {
  tenantId: string;
  rules: string;
  /** Defaults to the newest version of `rules` this process knows; pinned for the session's life. */
  rulesVersion?: number;
  /** Recorded and never null: drawn from the CSPRNG when absent. */
  seed?: string;
  playerId?: string;
  config?: Record<string, unknown>;
  /** Defaults to a new UUIDv7. */
  id?: string;
  /** Recorded in the session row (default `library`); the HTTP API passes `key:<key id>`. */
  writtenBy?: WrittenBy;
};

/**
 * Checks a new session's own fields (id and player UUIDs, known rules, a storable seed, a config
 * the rules' schema accepts) and resolves the rules version and the defaulted config. Shared by
 * `createSession` and the bulk import.
 */
export function checkSessionInput(
  catalog: EventTypeCatalog,
  limits: Limits,
  input: Omit<CreateSessionInput, 'tenantId'>,
): { rulesVersion: number; config: Record<string, unknown> } {
  if (input.id !== undefined && !isUuid(input.id)) {
    throw new AgateError('invalid_request', 'id must be a UUID (or leave it out to get a UUIDv7).');
  }
  if (input.playerId !== undefined && !isUuid(input.playerId)) {
    throw new AgateError('invalid_request', 'playerId must be a UUID of a player of this tenant.');
  }
  const rulesVersion = input.rulesVersion ?? catalog.latestRulesVersion(input.rules);
  const registry = rulesVersion === undefined ? undefined : catalog.find(input.rules, rulesVersion);
  if (rulesVersion === undefined || registry === undefined) {
    throw new AgateError(
      'unknown_rules',
      `No rules named "${String(input.rules)}"${input.rulesVersion === undefined ? '' : ` v${input.rulesVersion}`} are registered; use one of the games this server was started with.`,
    );
  }
  const seedProblem = input.seed === undefined ? undefined : findSeedProblem(input.seed);
  if (seedProblem !== undefined) throw new AgateError('invalid_request', `${seedProblem}.`);
  const config = input.config ?? {};
  const problem =
    typeof config !== 'object' || config === null || Array.isArray(config)
      ? 'config must be a JSON object'
      : findJsonProblem(config, limits.maxJsonDepth, 'config');
  if (problem !== undefined) throw new AgateError('invalid_request', `${problem}.`);
  if (Buffer.byteLength(JSON.stringify(config)) > limits.maxEventBytes) {
    throw new AgateError(
      'payload_too_large',
      `config is over ${limits.maxEventBytes} bytes of JSON; make it smaller.`,
    );
  }
  const parsed = registry.configSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['config', ...(issue?.path.map(String) ?? [])].join('.');
    throw new AgateError(
      'invalid_request',
      `${where}: ${issue?.message ?? 'is not valid'} (${input.rules} v${rulesVersion}).`,
    );
  }
  return { rulesVersion, config: parsed.data };
}

/**
 * Creates a session with its seed recorded, its rules version pinned, its chain root kept, and
 * its per-event seed secret (ADR 0013) stored in the same transaction.
 */
export async function createSession(deps: StoreDeps, input: CreateSessionInput): Promise<Session> {
  const tenantId = requireTenantId(input.tenantId);
  const { rulesVersion, config } = checkSessionInput(deps.catalog, deps.limits, input);
  const writtenBy = checkWrittenBy(input.writtenBy);
  const id = input.id?.toLowerCase() ?? uuidv7();
  const seed = input.seed ?? drawSeed();
  const headHash = sessionRootHash({
    sessionId: id,
    tenantId,
    seed,
    rules: input.rules,
    rulesVersion,
  });
  try {
    const row = await withTenant(deps.pool, { tenantId }, async (tx) => {
      const [inserted] = await drizzle(tx)
        .insert(sessions)
        .values({
          id,
          tenantId,
          playerId: input.playerId?.toLowerCase() ?? null,
          rules: input.rules,
          rulesVersion,
          seed,
          config,
          headHash,
          rootHash: headHash,
          writtenBy,
        })
        .returning();
      await insertSessionSecret(tx, tenantId, id, drawSessionSecret());
      return inserted;
    });
    if (row === undefined) throw new AgateError('internal', 'The session insert returned no row.');
    deps.sessionRules.remember(tenantId, id, { rules: row.rules, rulesVersion: row.rulesVersion });
    return toSession(row);
  } catch (error) {
    switch (violatedConstraint(error)) {
      case 'sessions_tenant_id_tenants_id_fk':
        throw new AgateError(
          'tenant_not_found',
          `Tenant ${tenantId} does not exist; create it first (agate tenants create).`,
          { cause: error },
        );
      case 'sessions_player_fk':
        throw new AgateError(
          'invalid_request',
          `Player ${String(input.playerId)} does not exist in this tenant; create the player first or leave playerId out.`,
          { cause: error },
        );
      case 'sessions_pkey':
        throw new AgateError(
          'invalid_request',
          `A session with id ${id} already exists; choose another id or leave it out.`,
          { cause: error },
        );
      default:
        throw error;
    }
  }
}
