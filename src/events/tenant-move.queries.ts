// The SQL of a tenant's online move (ADR 0034): reads of everything the tenant owns in the
// placement it leaves, writes of the same rows in the one it enters, the digests that verify
// them, and the removal of the tenant's rows from the placement it left.
// Invariants: every statement names the tenant as its first condition, and runs on a connection
// of the mover's whose session is in the tenant's context (app.tenant_id, so row-level security
// holds too) as the login that owns the schema; rows travel as whole-row JSON (`to_jsonb`,
// written back with `jsonb_populate_recordset`, so bytea, xid8 and times keep their values); an
// event's transaction_id is never copied (the target's own transaction gives it, ADR 0021);
// events are read in feed order, one source transaction at a time written as one target
// statement that also records the copy's progress, so the target's feed order is the source's;
// identifiers are constants of this file, never input; every write but a session's or player's
// (upserted: they change while the tenant moves) leaves a row that is already there alone.
import type { Queryable } from '../db/index.js';
import type { FeedPosition } from './feed-position.js';

/** A row as JSON, as `to_jsonb` gives it. */
export type MoveRow = Record<string, unknown>;

/** A table copied key by key: the tenant's rows in `sources` (live, then archived), into `target`. */
export type MoveTable = {
  kind: string;
  sources: readonly string[];
  target: string;
  /** The key columns and their types: unique per tenant, the order of the pages. */
  key: readonly (readonly [string, string])[];
  /** Upserted (every column but the key takes the source's value) rather than left alone. */
  upsert?: boolean;
};

const zeroUuid = '00000000-0000-0000-0000-000000000000';

export const movePlayers: MoveTable = {
  kind: 'player',
  sources: ['public.players'],
  target: 'public.players',
  key: [['id', 'uuid']],
  upsert: true,
};

export const moveSessions: MoveTable = {
  kind: 'session',
  sources: ['game.sessions'],
  target: 'game.sessions',
  key: [['id', 'uuid']],
  upsert: true,
};

export const moveSecrets: MoveTable = {
  kind: 'session_secret',
  sources: ['game.session_secrets'],
  target: 'game.session_secrets',
  key: [['session_id', 'uuid']],
};

/** The audit entries: the anchors among them are verified before the switch. */
export const moveAudit: MoveTable = {
  kind: 'audit_entry',
  sources: ['admin.audit_log', 'archive.audit_log'],
  target: 'admin.audit_log',
  key: [['id', 'uuid']],
};

/** Derived rows and the nightly audit's, copied after the switch (the source is frozen then). */
export const moveDerived: readonly MoveTable[] = [
  {
    kind: 'snapshot',
    sources: ['game.snapshots'],
    target: 'game.snapshots',
    key: [['id', 'uuid']],
  },
  {
    kind: 'analytics_event',
    sources: ['analytics.events', 'analytics_archive.events'],
    target: 'analytics.events',
    key: [
      ['session_id', 'uuid'],
      ['sequence', 'bigint'],
    ],
  },
  {
    kind: 'integrity_finding',
    sources: ['admin.integrity_findings'],
    target: 'admin.integrity_findings',
    key: [['id', 'uuid']],
  },
  {
    kind: 'session_audit',
    sources: ['admin.session_audits'],
    target: 'admin.session_audits',
    key: [['session_id', 'uuid']],
  },
];

/** The key before every row of `table`. */
export function moveStart(table: MoveTable): string[] {
  const before: Record<string, string> = {
    uuid: zeroUuid,
    bigint: '-9223372036854775808',
    integer: '-2147483648',
    text: '',
  };
  return table.key.map(([, type]) => before[type] ?? '');
}

const identifier = /^[a-z_][a-z0-9_]*$/;

/** The column list of `rows` (their JSON keys), checked to be plain identifiers. */
function columnsOf(rows: readonly MoveRow[]): string[] {
  const columns = Object.keys(rows[0] ?? {});
  for (const column of columns) {
    if (!identifier.test(column)) throw new Error(`unexpected column name ${column}`);
  }
  return columns;
}

/** One page of `source` (one of `table.sources`) after `after`: rows and the next key, or null. */
export async function selectMovePage(
  db: Queryable,
  table: MoveTable,
  source: string,
  input: { tenantId: string; after: readonly string[]; limit: number },
): Promise<{ rows: MoveRow[]; next: string[] | null }> {
  const keys = table.key.map(([name]) => `t.${name}`).join(', ');
  const params = table.key.map(([, type], i) => `$${i + 2}::${type}`).join(', ');
  const keyText = table.key.map(([name], i) => `t.${name}::text AS k${i}`).join(', ');
  const limit = `$${table.key.length + 2}`;
  const r = await db.query<{ row: MoveRow } & Record<string, string>>(
    `SELECT to_jsonb(t) AS row, ${keyText} FROM ${source} t
      WHERE t.tenant_id = $1 AND (${keys}) > (${params})
      ORDER BY ${keys} LIMIT ${limit}`,
    [input.tenantId, ...input.after, input.limit],
  );
  const last = r.rows.at(-1);
  const next =
    last === undefined || r.rows.length < input.limit
      ? null
      : table.key.map((_, i) => String(last[`k${i}`]));
  return { rows: r.rows.map((x) => x.row), next };
}

/** The tenant's rows of `table` with these keys (a one-column key), from its first source. */
export async function selectMoveRowsById(
  db: Queryable,
  table: MoveTable,
  input: { tenantId: string; ids: readonly string[] },
): Promise<MoveRow[]> {
  const [key] = table.key;
  if (key === undefined || input.ids.length === 0) return [];
  const r = await db.query<{ row: MoveRow }>(
    `SELECT to_jsonb(t) AS row FROM ${table.sources[0] ?? table.target} t
      WHERE t.tenant_id = $1 AND t.${key[0]} = ANY($2::${key[1]}[])`,
    [input.tenantId, input.ids],
  );
  return r.rows.map((x) => x.row);
}

/** The ids of the tenant's sessions in this placement. */
export async function selectMoveSessionIds(db: Queryable, tenantId: string): Promise<string[]> {
  const r = await db.query<{ id: string }>('SELECT id FROM game.sessions WHERE tenant_id = $1', [
    tenantId,
  ]);
  return r.rows.map((x) => x.id);
}

/** Writes `rows` into `table.target`: upserted, or left alone where a row is already there. */
export async function insertMoveRows(
  db: Queryable,
  table: MoveTable,
  rows: readonly MoveRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = columnsOf(rows);
  const list = columns.join(', ');
  const keyNames = table.key.map(([name]) => name);
  const onConflict =
    table.upsert === true
      ? `ON CONFLICT (${keyNames.join(', ')}) DO UPDATE SET ${columns
          .filter((c) => !keyNames.includes(c))
          .map((c) => `${c} = EXCLUDED.${c}`)
          .join(', ')}`
      : 'ON CONFLICT DO NOTHING';
  const r = await db.query(
    `INSERT INTO ${table.target} (${list})
     SELECT ${list} FROM jsonb_populate_recordset(NULL::${table.target}, $1::jsonb) ${onConflict}`,
    [JSON.stringify(rows)],
  );
  return r.rowCount ?? 0;
}

/** One event as the move reads it: its feed position, and the row without transaction_id. */
export type MoveEvent = { position: FeedPosition; row: MoveRow };

function eventBranch(table: string): string {
  return `(SELECT e.transaction_id, e.session_id, e.sequence, to_jsonb(e) - 'transaction_id' AS row
             FROM ${table} e
            WHERE e.tenant_id = $1
              AND (e.transaction_id, e.session_id, e.sequence) > ($2::xid8, $3::uuid, $4::bigint)
              AND ($6::boolean IS FALSE OR e.transaction_id < pg_snapshot_xmin(pg_current_snapshot()))
            ORDER BY e.transaction_id, e.session_id, e.sequence LIMIT $5)`;
}

/**
 * The tenant's events after `after` in feed order (live and archived months). With `horizon`,
 * only those of transactions older than every open one, as the feed reads (ADR 0021: nothing
 * can appear before the last one later); without, every committed one, which is safe only while
 * the mover holds the tenant's fence and no write of the tenant is in flight.
 */
export async function selectMoveEvents(
  db: Queryable,
  input: { tenantId: string; after: FeedPosition; limit: number; horizon: boolean },
): Promise<MoveEvent[]> {
  const r = await db.query<{
    transaction_id: string;
    session_id: string;
    sequence: string;
    row: MoveRow;
  }>(
    `SELECT p.transaction_id::text AS transaction_id, p.session_id, p.sequence::text AS sequence, p.row
       FROM (${eventBranch('game.events')} UNION ALL ${eventBranch('archive.events')}) p
      ORDER BY p.transaction_id, p.session_id, p.sequence LIMIT $5`,
    [
      input.tenantId,
      input.after.transactionId,
      input.after.sessionId,
      input.after.sequence,
      input.limit,
      input.horizon,
    ],
  );
  return r.rows.map((x) => ({
    position: {
      transactionId: x.transaction_id,
      sessionId: x.session_id,
      sequence: Number(x.sequence),
    },
    row: x.row,
  }));
}

/**
 * Source transactions' events into the target's game.events, each group (one source
 * transaction, in feed order) committed by itself with the copy's progress in the target's fence
 * row (admin.copy_event_groups): the target's feed keeps the source's order, and the copy
 * resumes exactly after the last group committed. The connection must not be in a transaction.
 */
export async function copyMoveEventGroups(
  db: Queryable,
  input: { tenantId: string; groups: readonly { rows: readonly MoveRow[]; through: string }[] },
): Promise<void> {
  if (input.groups.length === 0) return;
  await db.query('CALL admin.copy_event_groups($1, $2::jsonb)', [
    input.tenantId,
    JSON.stringify(input.groups),
  ]);
}

/** The transaction id the target gave the tenant's event (session, sequence); null if none. */
export async function selectEventTransaction(
  db: Queryable,
  input: { tenantId: string; sessionId: string; sequence: number },
): Promise<string | null> {
  const r = await db.query<{ transaction_id: string }>(
    `(SELECT transaction_id::text AS transaction_id FROM game.events
       WHERE tenant_id = $1 AND session_id = $2 AND sequence = $3)
     UNION ALL
     (SELECT transaction_id::text FROM archive.events
       WHERE tenant_id = $1 AND session_id = $2 AND sequence = $3)
     LIMIT 1`,
    [input.tenantId, input.sessionId, input.sequence],
  );
  return r.rows[0]?.transaction_id ?? null;
}

/** The tenant's last event at or before `position` in feed order; null when none is. */
export async function selectEventAtOrBefore(
  db: Queryable,
  input: { tenantId: string; position: FeedPosition },
): Promise<{ sessionId: string; sequence: number } | null> {
  const branch = (
    table: string,
  ) => `(SELECT e.transaction_id, e.session_id, e.sequence FROM ${table} e
      WHERE e.tenant_id = $1 AND (e.transaction_id, e.session_id, e.sequence) <= ($2::xid8, $3::uuid, $4::bigint)
      ORDER BY e.transaction_id DESC, e.session_id DESC, e.sequence DESC LIMIT 1)`;
  const r = await db.query<{ session_id: string; sequence: string }>(
    `SELECT p.session_id, p.sequence::text AS sequence
       FROM (${branch('game.events')} UNION ALL ${branch('archive.events')}) p
      ORDER BY p.transaction_id DESC, p.session_id DESC, p.sequence DESC LIMIT 1`,
    [
      input.tenantId,
      input.position.transactionId,
      input.position.sessionId,
      input.position.sequence,
    ],
  );
  const row = r.rows[0];
  return row === undefined ? null : { sessionId: row.session_id, sequence: Number(row.sequence) };
}

/** What must be equal on both sides before the switch. */
export type MoveDigest = {
  sessions: number;
  /** sha256 over every session's id, status, last sequence and chain head, by id. */
  heads: string;
  events: number;
  /** sha256 over every session's id and count of stored events, by id. */
  counts: string;
  anchors: number;
  /** sha256 over every anchor entry's id, subject and details, by id. */
  anchorDigest: string;
};

/** The tenant's digest in this placement (its live and archived months together). */
export async function selectMoveDigest(db: Queryable, tenantId: string): Promise<MoveDigest> {
  const r = await db.query<{
    sessions: string;
    heads: string;
    events: string;
    counts: string;
    anchors: string;
    anchor_digest: string;
  }>(
    `WITH s AS (
       SELECT count(*)::text AS sessions,
              coalesce(encode(sha256(convert_to(string_agg(
                id::text || ':' || status || ':' || last_sequence || ':' || encode(head_hash, 'hex'),
                ',' ORDER BY id), 'UTF8')), 'hex'), '') AS heads
         FROM game.sessions WHERE tenant_id = $1),
     c AS (
       SELECT coalesce(sum(n), 0)::text AS events,
              coalesce(encode(sha256(convert_to(string_agg(session_id::text || ':' || n,
                ',' ORDER BY session_id), 'UTF8')), 'hex'), '') AS counts
         FROM (SELECT session_id, count(*) AS n
                 FROM (SELECT session_id FROM game.events WHERE tenant_id = $1
                       UNION ALL
                       SELECT session_id FROM archive.events WHERE tenant_id = $1) e
                GROUP BY session_id) x),
     a AS (
       SELECT count(*)::text AS anchors,
              coalesce(encode(sha256(convert_to(string_agg(
                id::text || ':' || coalesce(subject, '') || ':' || details::text,
                ',' ORDER BY id), 'UTF8')), 'hex'), '') AS anchor_digest
         FROM (SELECT id, subject, details FROM admin.audit_log
                WHERE tenant_id = $1 AND action = 'anchor.recorded'
               UNION ALL
               SELECT id, subject, details FROM archive.audit_log
                WHERE tenant_id = $1 AND action = 'anchor.recorded') x)
     SELECT * FROM s, c, a`,
    [tenantId],
  );
  const row = r.rows[0];
  if (row === undefined) throw new Error('the move digest returned no row');
  return {
    sessions: Number(row.sessions),
    heads: row.heads,
    events: Number(row.events),
    counts: row.counts,
    anchors: Number(row.anchors),
    anchorDigest: row.anchor_digest,
  };
}

/** How many of these audit entry ids the placement holds for the tenant. */
export async function countAuditEntries(
  db: Queryable,
  input: { tenantId: string; ids: readonly string[] },
): Promise<number> {
  const r = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM (
       SELECT id FROM admin.audit_log WHERE tenant_id = $1 AND id = ANY($2::uuid[])
       UNION ALL
       SELECT id FROM archive.audit_log WHERE tenant_id = $1 AND id = ANY($2::uuid[])) x`,
    [input.tenantId, input.ids],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** Every table of a tenant's data in a placement, children first (the order rows are removed). */
export const tenantDataTables = [
  'feed.consumer_members',
  'feed.consumer_slots',
  'feed.consumers',
  'analytics.events',
  'analytics_archive.events',
  'game.snapshots',
  'admin.integrity_findings',
  'admin.session_audits',
  'game.events',
  'archive.events',
  'game.session_secrets',
  'game.sessions',
  'public.players',
  'admin.audit_log',
  'archive.audit_log',
] as const;

export type TenantDataTable = (typeof tenantDataTables)[number];

/**
 * Removes the tenant's rows of `tables` (in that order), in the caller's transaction, whose
 * session must be in the tenant's context (app.tenant_id); the append-only guards let the
 * deletes through only while the tenant's fence in this database says `moved` (migration 0018).
 * Returns the rows removed from each table.
 */
export async function deleteTenantRows(
  db: Queryable,
  input: { tenantId: string; tables: readonly TenantDataTable[] },
): Promise<Partial<Record<TenantDataTable, number>>> {
  await db.query(`SELECT set_config('agate.removing_tenant', $1, true)`, [input.tenantId]);
  const removed: Partial<Record<TenantDataTable, number>> = {};
  for (const table of tenantDataTables) {
    if (!input.tables.includes(table)) continue;
    const r = await db.query(`DELETE FROM ${table} WHERE tenant_id = $1`, [input.tenantId]);
    removed[table] = r.rowCount ?? 0;
  }
  return removed;
}

/**
 * Removes the tenant's rows from a placement it has left (its fence there says `moved`; the
 * append-only guards let these deletes through only then, migration 0018), children first. In
 * the caller's transaction. `keepAudit`: the placement is the control plane, whose audit log
 * also records the tenant's keys and placements; it keeps its entries. Returns rows removed.
 */
export async function deleteMovedTenantRows(
  db: Queryable,
  input: { tenantId: string; keepAudit: boolean },
): Promise<number> {
  const audit: readonly string[] = ['admin.audit_log', 'archive.audit_log'];
  const removed = await deleteTenantRows(db, {
    tenantId: input.tenantId,
    tables: tenantDataTables.filter((t) => !input.keepAudit || !audit.includes(t)),
  });
  return Object.values(removed).reduce((sum, n) => sum + n, 0);
}
