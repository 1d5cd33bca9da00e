// The nightly audit's cross-tenant reads and writes, as agate_maintenance (the caller's
// transaction, `withMaintenance`). Invariants: a finding is inserted once per (session, sequence,
// kind) and never changed; a session's progress only moves with a clean audit; the single
// admin.nightly_state row holds the audit mark, the rolling cursor and the last success.
import { uuidv7 } from 'uuidv7';
import type { Pool, PoolClient } from '../../db/index.js';
import type { AuditProgress } from './audit-session.js';

export type NightlyState = {
  schedule: string | null;
  auditedUntil: Date | null;
  verifyCursor: string | null;
  lastSuccessAt: Date | null;
};

/**
 * The mark this run leaves for the next: snapshots created from it on count as written since the
 * last audit. A snapshot's created_at is its transaction's start, so a transaction still open now
 * (which may commit a snapshot after this run read its work) pulls the mark back to its start.
 * Read as the login, which sees its own sessions' transactions in pg_stat_activity; an open
 * transaction it cannot see leaves the mark at now.
 */
export async function auditMark(pool: Pool): Promise<Date> {
  const r = await pool.query<{ mark: Date }>(
    `SELECT least(now(), min(xact_start)) AS mark FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend'`,
  );
  return r.rows[0]?.mark ?? new Date();
}

export async function readNightlyState(tx: PoolClient): Promise<NightlyState> {
  const r = await tx.query<{
    schedule: string | null;
    audited_until: Date | null;
    verify_cursor: string | null;
    last_success_at: Date | null;
  }>(
    `SELECT schedule, audited_until, verify_cursor, last_success_at FROM admin.nightly_state WHERE id = 'nightly'`,
  );
  const row = r.rows[0];
  return {
    schedule: row?.schedule ?? null,
    auditedUntil: row?.audited_until ?? null,
    verifyCursor: row?.verify_cursor ?? null,
    lastSuccessAt: row?.last_success_at ?? null,
  };
}

export async function saveVerifyCursor(tx: PoolClient, cursor: string | null): Promise<void> {
  await tx.query(
    `UPDATE admin.nightly_state SET verify_cursor = $1, updated_at = now() WHERE id = 'nightly'`,
    [cursor],
  );
}

/** Ends a completed run: snapshots written before `mark` count as audited. */
export async function saveCompletedRun(tx: PoolClient, mark: Date): Promise<void> {
  await tx.query(
    `UPDATE admin.nightly_state SET audited_until = $1, last_success_at = now(), updated_at = now() WHERE id = 'nightly'`,
    [mark],
  );
}

export async function saveProgress(
  tx: PoolClient,
  rows: readonly { sessionId: string; tenantId: string; progress: AuditProgress }[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO admin.session_audits AS a (session_id, tenant_id, snapshot_sequence, chain_hash, state_hash, verified_sequence)
     SELECT u.session_id, u.tenant_id, u.snapshot_sequence, u.chain_hash, decode(u.state_hash, 'hex'), u.verified_sequence
       FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bytea[], $5::text[], $6::bigint[])
            AS u(session_id, tenant_id, snapshot_sequence, chain_hash, state_hash, verified_sequence)
     ON CONFLICT (session_id) DO UPDATE SET snapshot_sequence = excluded.snapshot_sequence,
       chain_hash = excluded.chain_hash, state_hash = excluded.state_hash,
       verified_sequence = excluded.verified_sequence, updated_at = now()`,
    [
      rows.map((r) => r.sessionId),
      rows.map((r) => r.tenantId),
      rows.map((r) => r.progress.snapshotSequence),
      rows.map((r) => r.progress.chainHash),
      rows.map((r) => r.progress.stateHash),
      rows.map((r) => r.progress.verifiedSequence),
    ],
  );
}

export type FindingInput = {
  tenantId: string;
  sessionId: string;
  sequence: number;
  kind: string;
  message: string;
};

/** Records the findings not recorded before; returns the keys of those that are new. */
export async function recordFindings(
  tx: PoolClient,
  runId: string,
  findings: readonly FindingInput[],
): Promise<Set<string>> {
  if (findings.length === 0) return new Set();
  const r = await tx.query<{ session_id: string; sequence: number; kind: string }>(
    `INSERT INTO admin.integrity_findings (id, tenant_id, session_id, sequence, kind, message, run_id)
     SELECT u.id, u.tenant_id, u.session_id, u.sequence, u.kind, u.message, $7
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[])
            AS u(id, tenant_id, session_id, sequence, kind, message)
     ON CONFLICT (session_id, sequence, kind) DO NOTHING
     RETURNING session_id, sequence, kind`,
    [
      findings.map(() => uuidv7()),
      findings.map((f) => f.tenantId),
      findings.map((f) => f.sessionId),
      findings.map((f) => f.sequence),
      findings.map((f) => f.kind),
      findings.map((f) => f.message),
      runId,
    ],
  );
  return new Set(r.rows.map((row) => findingKey(row.session_id, row.sequence, row.kind)));
}

export function findingKey(sessionId: string, sequence: number, kind: string): string {
  return `${sessionId}/${sequence}/${kind}`;
}
