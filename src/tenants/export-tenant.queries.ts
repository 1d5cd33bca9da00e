// The tenant export's reads of every tenant-scoped table but sessions, events and snapshots
// (those are in src/events/tenant-export.queries.ts): whole rows as JSON, a page at a time.
// Invariants: each table is read in the order of a key that is unique within it, a page at a
// time after the last key read (keyset, never OFFSET), with the tenant id as the first condition
// (and row-level security on top where the transaction is in the tenant's context); bytea is hex
// and timestamps are ISO 8601 in UTC (the transaction sets TimeZone); an API key's hash is never
// selected, only the columns listed here; archived months are read with the live ones; nothing is
// written. Identifiers are constants of this file, never input.
import type { PoolClient } from '../db/index.js';

/**
 * One table of the export: `sql` takes the tenant id as $1, the key after which to read as $2..
 * (as text, cast in the SQL), and the page size last; it returns `row` and the key as `k0`...
 */
export type ExportTable = {
  kind: string;
  sql: string;
  /** The key before every row: each table's key starts with a uuid or a time below any row's. */
  start: readonly string[];
};

const zeroUuid = '00000000-0000-0000-0000-000000000000';

const auditBranch = (table: string) => `
  SELECT a.occurred_at::text AS k0, a.id::text AS k1, a.occurred_at, a.id, to_jsonb(a) AS row
    FROM ${table} a
   WHERE a.tenant_id = $1 AND (a.occurred_at, a.id) > ($2::timestamptz, $3::uuid)
   ORDER BY a.occurred_at, a.id
   LIMIT $4`;

const analyticsBranch = (table: string) => `
  SELECT a.server_time::text AS k0, a.session_id::text AS k1, a.sequence::text AS k2,
         a.server_time, a.session_id, a.sequence, to_jsonb(a) AS row
    FROM ${table} a
   WHERE a.tenant_id = $1
     AND (a.server_time, a.session_id, a.sequence) > ($2::timestamptz, $3::uuid, $4::bigint)
   ORDER BY a.server_time, a.session_id, a.sequence
   LIMIT $5`;

/** The control plane's rows of the tenant, read as agate_maintenance (keys have no tenant role). */
export const controlPlaneTables: readonly ExportTable[] = [
  {
    kind: 'tenant',
    sql: `SELECT t.id::text AS k0, to_jsonb(t) AS row FROM public.tenants t
           WHERE t.id = $1 AND t.id > $2::uuid ORDER BY t.id LIMIT $3`,
    start: [zeroUuid],
  },
  {
    kind: 'api_key',
    sql: `SELECT k.id::text AS k0,
                 jsonb_build_object('id', k.id, 'tenant_id', k.tenant_id, 'role', k.role,
                   'label', k.label, 'created_at', k.created_at, 'updated_at', k.updated_at,
                   'revoked_at', k.revoked_at, 'rate_limit_per_second', k.rate_limit_per_second,
                   'rate_limit_burst', k.rate_limit_burst) AS row
            FROM public.api_keys k
           WHERE k.tenant_id = $1 AND k.id > $2::uuid ORDER BY k.id LIMIT $3`,
    start: [zeroUuid],
  },
];

/** The placement's players, read in the tenant's context (before its sessions, which name them). */
export const playerTable: ExportTable = {
  kind: 'player',
  sql: `SELECT p.id::text AS k0, to_jsonb(p) AS row FROM public.players p
         WHERE p.tenant_id = $1 AND p.id > $2::uuid ORDER BY p.id LIMIT $3`,
  start: [zeroUuid],
};

/** The audit log's entries of the tenant, live and archived months, oldest first. */
export const auditTable: ExportTable = {
  kind: 'audit_entry',
  sql: `(${auditBranch('admin.audit_log')}) UNION ALL (${auditBranch('archive.audit_log')})
        ORDER BY occurred_at, id LIMIT $4`,
  start: ['-infinity', zeroUuid],
};

/** What follows the sessions on the placement, read in the tenant's context, in this order. */
export const derivedTables: readonly ExportTable[] = [
  {
    kind: 'analytics_event',
    sql: `(${analyticsBranch('analytics.events')})
          UNION ALL (${analyticsBranch('analytics_archive.events')})
          ORDER BY server_time, session_id, sequence LIMIT $5`,
    start: ['-infinity', zeroUuid, '0'],
  },
  auditTable,
  {
    kind: 'consumer',
    sql: `SELECT c.id::text AS k0, to_jsonb(c) AS row FROM feed.consumers c
           WHERE c.tenant_id = $1 AND c.id > $2::uuid ORDER BY c.id LIMIT $3`,
    start: [zeroUuid],
  },
  {
    kind: 'consumer_slot',
    sql: `SELECT s.consumer_id::text AS k0, s.slot::text AS k1, to_jsonb(s) AS row
            FROM feed.consumer_slots s
           WHERE s.tenant_id = $1 AND (s.consumer_id, s.slot) > ($2::uuid, $3::integer)
           ORDER BY s.consumer_id, s.slot LIMIT $4`,
    start: [zeroUuid, '0'],
  },
  {
    kind: 'consumer_member',
    sql: `SELECT m.consumer_id::text AS k0, m.member AS k1, to_jsonb(m) AS row
            FROM feed.consumer_members m
           WHERE m.tenant_id = $1 AND (m.consumer_id, m.member) > ($2::uuid, $3::text)
           ORDER BY m.consumer_id, m.member LIMIT $4`,
    start: [zeroUuid, ''],
  },
];

/** The nightly audit's tables: only agate_maintenance reads them, so the tenant id is explicit. */
export const maintenanceTables: readonly ExportTable[] = [
  {
    kind: 'integrity_finding',
    sql: `SELECT f.id::text AS k0, to_jsonb(f) AS row FROM admin.integrity_findings f
           WHERE f.tenant_id = $1 AND f.id > $2::uuid ORDER BY f.id LIMIT $3`,
    start: [zeroUuid],
  },
  {
    kind: 'session_audit',
    sql: `SELECT a.session_id::text AS k0,
                 to_jsonb(a) || jsonb_build_object('chain_hash', encode(a.chain_hash, 'hex'),
                   'state_hash', encode(a.state_hash, 'hex')) AS row
            FROM admin.session_audits a
           WHERE a.tenant_id = $1 AND a.session_id > $2::uuid ORDER BY a.session_id LIMIT $3`,
    start: [zeroUuid],
  },
];

/** One page of `table` after `after`: the rows, and the key of the last (null after the last page). */
export async function selectTablePage(
  tx: PoolClient,
  table: ExportTable,
  input: { tenantId: string; after: readonly string[]; limit: number },
): Promise<{ rows: Record<string, unknown>[]; next: string[] | null }> {
  const r = await tx.query<Record<string, unknown> & { row: Record<string, unknown> }>(table.sql, [
    input.tenantId,
    ...input.after,
    input.limit,
  ]);
  const last = r.rows.at(-1);
  const next =
    last === undefined || r.rows.length < input.limit
      ? null
      : table.start.map((_, i) => String(last[`k${i}`]));
  return { rows: r.rows.map((x) => x.row), next };
}
