// Everything a tenant owns, as NDJSON lines for the tenant to keep (issue 19, offboarding).
// Invariants: the lines go to `write` as they are read, a page at a time (never the whole
// tenant in memory), and `write` is awaited, so a slow reader slows the reads rather than
// filling memory; the placement's data is read in one REPEATABLE READ, READ ONLY transaction in
// the tenant's context as agate_analyst (one snapshot: a session's line and its events agree,
// and row-level security keeps every other tenant's rows out), the nightly audit's tables in a
// second one as agate_maintenance, and the tenant and its keys (never a key's hash) from the
// control plane; each session's events are checked to run 1..last_sequence without a gap, else
// `integrity_violation` (never a shorter export); the caller records the export (writes nothing).
import { withMaintenance, withTenant } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { selectEventRows, selectSessionRows, selectSnapshotRows } from '../events/index.js';
import { AgateError } from '../errors/index.js';
import type { Placement } from '../placements/index.js';
import {
  auditTable,
  controlPlaneTables,
  derivedTables,
  maintenanceTables,
  playerTable,
  selectTablePage,
} from './export-tenant.queries.js';
import type { ExportTable } from './export-tenant.queries.js';

/** The format of the lines; a reader checks the header's `format` before anything else. */
export const tenantExportFormat = 1;

/** Every kind of row line, in the order they appear. */
export const tenantExportKinds = [
  'tenant',
  'api_key',
  'player',
  'session',
  'event',
  'snapshot',
  'analytics_event',
  'audit_entry',
  'consumer',
  'consumer_slot',
  'consumer_member',
  'integrity_finding',
  'session_audit',
] as const;
export type TenantExportKind = (typeof tenantExportKinds)[number];
export type TenantExportCounts = Record<TenantExportKind, number>;

export type ExportTenantInput = {
  tenantId: string;
  placement: Placement;
  /** The control plane (DATABASE_URL): the tenant's row and keys. */
  control: Pool;
  /** The tenant's placement database: its data. The control plane's pool for `shared`. */
  data: Pool;
  /** When, for the header. */
  now: Date;
};

/** Receives each line (without its newline); resolves when the line may be followed by another. */
export type ExportLineSink = (line: string) => Promise<void>;

const pageSize = 1_000;

type Emit = (kind: TenantExportKind, row: Record<string, unknown>) => Promise<void>;

async function exportTable(tx: PoolClient, table: ExportTable, tenantId: string, emit: Emit) {
  let after: readonly string[] | null = table.start;
  while (after !== null) {
    const page = await selectTablePage(tx, table, { tenantId, after, limit: pageSize });
    for (const row of page.rows) await emit(table.kind as TenantExportKind, row);
    after = page.next;
  }
}

async function eachSession(
  tx: PoolClient,
  tenantId: string,
  visit: (session: {
    id: string;
    lastSequence: number;
    row: Record<string, unknown>;
  }) => Promise<void>,
) {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await selectSessionRows(tx, tenantId, after, pageSize);
    for (const session of page) await visit(session);
    const last = page.at(-1);
    if (last === undefined || page.length < pageSize) return;
    after = last.id;
  }
}

async function exportEvents(
  tx: PoolClient,
  session: { id: string; lastSequence: number },
  emit: Emit,
) {
  let after = 0;
  while (after < session.lastSequence) {
    const page = await selectEventRows(tx, {
      sessionId: session.id,
      after,
      to: session.lastSequence,
      limit: pageSize,
    });
    for (const event of page) {
      if (event.sequence !== after + 1) break;
      await emit('event', event.row);
      after = event.sequence;
    }
    if (page.length === 0 || after !== page.at(-1)?.sequence) {
      throw new AgateError(
        'integrity_violation',
        `Session ${session.id} has no event ${after + 1} of its ${session.lastSequence}; nothing after it was exported. Run agate nightly to record the finding, and restore the event before exporting again.`,
        { details: { sessionId: session.id, sequence: after + 1 } },
      );
    }
  }
}

async function exportSnapshots(tx: PoolClient, tenantId: string, emit: Emit) {
  let after = { sessionId: '00000000-0000-0000-0000-000000000000', sequence: -1 };
  for (;;) {
    const page = await selectSnapshotRows(tx, tenantId, after, pageSize);
    for (const snapshot of page) await emit('snapshot', snapshot.row);
    const last = page.at(-1);
    if (last === undefined || page.length < pageSize) return;
    after = last;
  }
}

const utc = "SET LOCAL TimeZone = 'UTC'";

/**
 * Writes the tenant's export to `write`: a header line, one line per row (`{"kind", "row"}`,
 * columns by their SQL names, bytea as hex, timestamps as ISO 8601 in UTC) in an order a reader
 * can import (the tenant, its keys, players, sessions, each session's events by sequence,
 * snapshots, analytics rows, audit entries, feed consumers, the nightly audit's records), and a
 * summary line with the count of each kind. Returns the counts. A tenant on a database of its own
 * also has audit entries on the control plane (its creation, its keys): they come first.
 */
export async function exportTenant(
  input: ExportTenantInput,
  write: ExportLineSink,
): Promise<TenantExportCounts> {
  const { tenantId } = input;
  const counts = Object.fromEntries(tenantExportKinds.map((k) => [k, 0])) as TenantExportCounts;
  const emit: Emit = (kind, row) => {
    counts[kind] += 1;
    return write(JSON.stringify({ kind, row }));
  };
  await write(
    JSON.stringify({
      kind: 'export',
      format: tenantExportFormat,
      tenantId,
      placement: input.placement,
      exportedAt: input.now.toISOString(),
    }),
  );
  await withMaintenance(input.control, async (tx) => {
    await tx.query(utc);
    for (const table of controlPlaneTables) await exportTable(tx, table, tenantId, emit);
  });
  if (counts.tenant !== 1) {
    throw new AgateError('tenant_not_found', `No tenant ${tenantId}; check the tenant id.`);
  }
  if (input.placement !== 'shared') {
    await withTenant(input.control, { tenantId, role: 'agate_analyst', snapshot: true }, (tx) =>
      tx.query(utc).then(() => exportTable(tx, auditTable, tenantId, emit)),
    );
  }
  const context = { tenantId, role: 'agate_analyst', snapshot: true } as const;
  await withTenant(input.data, context, async (tx) => {
    await tx.query(utc);
    await exportTable(tx, playerTable, tenantId, emit);
    await eachSession(tx, tenantId, (session) => emit('session', session.row));
    await eachSession(tx, tenantId, (session) => exportEvents(tx, session, emit));
    await exportSnapshots(tx, tenantId, emit);
    for (const table of derivedTables) await exportTable(tx, table, tenantId, emit);
  });
  await withMaintenance(input.data, async (tx) => {
    await tx.query(utc);
    for (const table of maintenanceTables) await exportTable(tx, table, tenantId, emit);
  });
  await write(JSON.stringify({ kind: 'summary', counts }));
  return counts;
}
