import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { uuidv7 } from 'uuidv7';
import type { Pool } from '../../../src/db/index.js';
import type { ApiKeyRole } from '../../../src/keys/index.js';
import { inc } from '../../support/api.js';
import type { ApiFixture, TestKey } from '../../support/api.js';

// The data the tenant isolation battery attacks: two tenants with rows in every tenant-scoped
// table and in every partition, found from the catalog rather than listed by hand, so a table
// or partition added later is attacked too.

/** A table whose rows belong to a tenant: `column` holds the tenant (`id` for public.tenants). */
export type TenantTable = {
  name: string;
  column: 'tenant_id' | 'id';
  /** The partitioned parent, for a partition. */
  parent: string | null;
};

export const allKeyRoles: readonly ApiKeyRole[] = ['game_server', 'analyst', 'admin'];

/**
 * Every relation with a tenant_id column in public, game, admin, analytics (and archive and
 * analytics_archive, where retention keeps detached partitions), partitions included, plus
 * public.tenants itself.
 */
export async function tenantTables(pool: Pool): Promise<TenantTable[]> {
  const found = await pool.query<{ name: string; parent: string | null }>(
    `SELECT c.oid::regclass::text AS name,
            (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parent
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
      WHERE n.nspname IN ('public', 'game', 'admin', 'archive', 'analytics', 'analytics_archive')
        AND c.relkind IN ('r', 'p')
      ORDER BY c.relispartition, 1`,
  );
  const tables: TenantTable[] = found.rows.map((r) => ({
    name: r.name,
    column: 'tenant_id',
    parent: r.parent,
  }));
  return [{ name: 'tenants', column: 'id', parent: null }, ...tables];
}

/** The SQLSTATE (or Node error code) somewhere in an error's cause chain. */
export function sqlStateOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export type SeededTenant = {
  id: string;
  keys: Record<ApiKeyRole, TestKey>;
  playerId: string;
  liveSession: string;
  endedSession: string;
  /** A session that only carries the rows written straight into each partition. */
  carrierSession: string;
  /** Every value of this tenant another tenant must never see in an answer. */
  secrets: string[];
};

/** A tenant with keys, a player, a live and an ended session, events, snapshots and audit rows. */
export async function seedTenant(api: ApiFixture, label: string): Promise<SeededTenant> {
  const mark = `${label}-${randomBytes(6).toString('hex')}`;
  const id = await api.newTenant(`isolation ${mark}`);
  const keys = {} as Record<ApiKeyRole, TestKey>;
  for (const role of allKeyRoles) keys[role] = await api.newKey(id, role);
  const server = keys.game_server.key;
  const player = await api.call('POST', '/v1/players', {
    key: server,
    body: { externalRef: `ref-${mark}`, displayName: `name-${mark}`, email: `${mark}@example.com` },
  });
  expect(player.status).toBe(201);
  const playerId = player.json.id as string;
  const session = async (seed: string, events: unknown[]) => {
    const created = await api.call('POST', '/v1/sessions', {
      key: server,
      body: { rules: 'tiny', seed, playerId, config: { owner: mark } },
    });
    expect(created.status).toBe(201);
    const sessionId = created.json.id as string;
    if (events.length > 0) {
      const appended = await api.call('POST', `/v1/sessions/${sessionId}/events`, {
        key: server,
        body: { events },
      });
      expect(appended.status).toBe(201);
    }
    return sessionId;
  };
  const note = { type: 'note.written', version: 1, data: { text: `note-${mark}` } };
  const liveSession = await session(`seed-live-${mark}`, [inc(1), note, inc(2)]);
  const endedSession = await session(`seed-ended-${mark}`, [inc(5), note]);
  expect((await api.call('POST', `/v1/sessions/${endedSession}/end`, { key: server })).status).toBe(
    201,
  );
  const carrierSession = await session(`seed-carrier-${mark}`, []);
  await api.agate.snapshot({ tenantId: id, sessionId: liveSession });
  // What the nightly audit keeps per tenant: a finding and a session's verified point.
  await api.db.pool.query(
    `INSERT INTO admin.integrity_findings (id, tenant_id, session_id, sequence, kind, message, run_id)
     VALUES ($1, $2, $3, 1, 'chain', $4, $5)`,
    [uuidv7(), id, liveSession, `finding-${mark}`, uuidv7()],
  );
  await api.db.pool.query(
    `INSERT INTO admin.session_audits (session_id, tenant_id, snapshot_sequence, chain_hash,
                                       state_hash, verified_sequence)
     VALUES ($1, $2, 0, '\\x00', '\\x00', 3)`,
    [liveSession, id],
  );
  // What moves and deletions keep per tenant (operator state: no tenant role has a grant): a
  // rolled-back move, an `arriving` fence (which holds no write back) and a tombstone row.
  await api.db.pool.query(
    `INSERT INTO admin.tenant_moves (id, tenant_id, source, target, step, ended_at)
     VALUES ($1, $2, 'shared', 'database:isolation', 'rolled_back', now())`,
    [uuidv7(), id],
  );
  await api.db.pool.query(
    `INSERT INTO admin.tenant_fences (tenant_id, move_id, state, placement)
     VALUES ($1, $2, 'arriving', 'shared')`,
    [id, uuidv7()],
  );
  await api.db.pool.query(
    `INSERT INTO admin.tenant_tombstones (tenant_id, name, placement, deleted_by)
     VALUES ($1, $2, 'shared', 'isolation')`,
    [id, `tombstone-${mark}`],
  );
  const ids = await api.db.pool.query<{ id: string }>(
    `SELECT event_id::text AS id FROM game.events WHERE tenant_id = $1
     UNION ALL SELECT id::text FROM public.api_keys WHERE tenant_id = $1
     UNION ALL SELECT id::text FROM game.snapshots WHERE tenant_id = $1`,
    [id],
  );
  const secrets = [
    id,
    mark,
    playerId,
    liveSession,
    endedSession,
    carrierSession,
    ...ids.rows.map((r) => r.id),
  ];
  return { id, keys, playerId, liveSession, endedSession, carrierSession, secrets };
}

/**
 * One row of `tenant` in every partition of game.events, admin.audit_log and analytics.events
 * and of their archive parents (months retention archived), the default ones included, written as the owner
 * (the append path only ever fills the current month's).
 */
export async function fillPartitions(
  pool: Pool,
  tables: readonly TenantTable[],
  tenant: SeededTenant,
): Promise<void> {
  for (const table of tables.filter((t) => t.parent !== null)) {
    const bound = await pool.query<{ at: Date | null }>(
      `SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \\('([^']+)'\\)$$))[1]::timestamptz
              + interval '1 day' AS at
         FROM pg_class c WHERE c.oid = $1::regclass`,
      [table.name],
    );
    const at = bound.rows[0]?.at ?? new Date('2199-06-01T00:00:00Z');
    if (table.parent === 'game.events' || table.parent === 'archive.events') {
      await pool.query(
        `INSERT INTO ${table.parent} (event_id, tenant_id, session_id, sequence, event_type,
                                      event_version, event_data, server_time, hash, written_by,
                                      transaction_id)
         VALUES ($1, $2, $3, 1000 + (SELECT count(*) FROM game.events WHERE session_id = $3)
                                  + (SELECT count(*) FROM archive.events WHERE session_id = $3),
                 'note.written', 1, '{"text": "partition row"}', $4, '\\x00', 'library',
                 pg_current_xact_id())`,
        [uuidv7(), tenant.id, tenant.carrierSession, at],
      );
    } else if (table.parent === 'admin.audit_log' || table.parent === 'archive.audit_log') {
      await pool.query(
        `INSERT INTO ${table.parent} (id, tenant_id, occurred_at, actor, action, subject)
         VALUES ($1, $2, $3, 'isolation battery', 'probe.seeded', $4)`,
        [uuidv7(), tenant.id, at, tenant.carrierSession],
      );
    } else if (table.parent === 'analytics.events' || table.parent === 'analytics_archive.events') {
      await pool.query(
        `INSERT INTO ${table.parent} (tenant_id, session_id, sequence, event_id, event_type,
                                      event_version, server_time, rules, rules_version, fields)
         VALUES ($1, $2, 1000 + (SELECT count(*) FROM analytics.events WHERE session_id = $2)
                              + (SELECT count(*) FROM analytics_archive.events WHERE session_id = $2),
                 $3, 'note.written', 1, $4, 'tiny', 1, '{"text": "partition row"}')`,
        [tenant.id, tenant.carrierSession, uuidv7(), at],
      );
    } else {
      throw new Error(`${table.name} is a partition of ${table.parent}: teach fillPartitions it.`);
    }
  }
}

/** A digest of every row a tenant owns, per table, read as the owner (which bypasses RLS). */
export async function tenantDigest(
  pool: Pool,
  tables: readonly TenantTable[],
  tenantId: string,
): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const table of tables.filter((t) => t.parent === null)) {
    const r = await pool.query<{ d: string | null; n: number }>(
      `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS d, count(*)::int AS n
         FROM ${table.name} t WHERE ${table.column} = $1`,
      [tenantId],
    );
    digest[table.name] = `${r.rows[0]?.n ?? 0}:${r.rows[0]?.d ?? ''}`;
  }
  return digest;
}

/** How many rows of `tenantId` the owner sees in `table` (the truth the roles are held to). */
export async function ownerCount(
  pool: Pool,
  table: TenantTable,
  tenantId: string,
): Promise<number> {
  const r = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table.name} WHERE ${table.column} = $1`,
    [tenantId],
  );
  return r.rows[0]?.n ?? 0;
}

/**
 * A copy of one of `tenantId`'s rows in `table` with fresh keys, as JSON for
 * jsonb_populate_record: what a forged INSERT of another tenant's row would send.
 */
export async function forgedRow(
  pool: Pool,
  table: TenantTable,
  tenantId: string,
): Promise<Record<string, unknown>> {
  const r = await pool.query<{ row: Record<string, unknown> }>(
    `SELECT to_jsonb(t) AS row FROM ${table.name} t WHERE ${table.column} = $1 LIMIT 1`,
    [tenantId],
  );
  const row = r.rows[0]?.row;
  if (row === undefined) throw new Error(`${table.name} has no row of ${tenantId} to copy.`);
  const copy: Record<string, unknown> = { ...row };
  for (const key of ['id', 'event_id']) if (key in copy) copy[key] = uuidv7();
  if (typeof copy.sequence === 'number') copy.sequence += 1_000_000;
  if ('external_ref' in copy) copy.external_ref = null;
  if ('key_hash' in copy) copy.key_hash = `\\x${randomBytes(32).toString('hex')}`;
  return copy;
}
