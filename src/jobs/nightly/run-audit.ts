// The nightly audit's two stages. Invariants: each session is audited in its tenant's context
// (agate_app under RLS), a batch of one tenant's sessions per transaction; what a batch found and
// the progress it made are committed together as agate_maintenance, after it, so a run killed
// anywhere loses at most the batch in flight and a rerun records no finding twice.
import { withMaintenance, withTenant } from '../../db/index.js';
import { fullVerifyTargets, incrementalTargets, verifyBacklog } from '../../events/index.js';
import type { AuditTarget } from '../../events/index.js';
import type { Agate } from '../../runtime/index.js';
import { auditSession } from './audit-session.js';
import type { SessionAudit } from './audit-session.js';
import { loadAuditSessions } from './load-audit-sessions.js';
import {
  findingKey,
  readNightlyState,
  recordFindings,
  saveProgress,
  saveVerifyCursor,
} from './audit-store.js';
import type { FindingInput } from './audit-store.js';

/** A divergence as the nightly job records it; `firstSeen`: not recorded by an earlier run. */
export type Finding = FindingInput & { firstSeen: boolean };

export type AuditReport = {
  /** Sessions audited incrementally, and how many of them had to be folded from genesis. */
  sessions: number;
  fromGenesis: number;
  /** Stored snapshots checked (content hash and replayed state). */
  snapshots: number;
  /** Sessions whose rules this build does not register: not replayed, so not verified. */
  unknownRules: number;
  divergences: Finding[];
};

export type FullVerifyReport = {
  sessions: number;
  limit: number;
  /** Sessions the current pass has not reached yet. */
  backlog: number;
  divergences: Finding[];
};

type Progress = (done: number, total: number) => void;

/** Sessions audited in one transaction. */
const batchSize = 50;

/** Consecutive targets of one tenant, at most `batchSize` each: the order (and a cursor) is kept. */
function batchesOf(targets: readonly AuditTarget[]): AuditTarget[][] {
  const batches: AuditTarget[][] = [];
  for (const target of targets) {
    const last = batches.at(-1);
    if (last !== undefined && last.length < batchSize && last[0]?.tenantId === target.tenantId)
      last.push(target);
    else batches.push([target]);
  }
  return batches;
}

function findingsOf(audits: readonly SessionAudit[]): FindingInput[] {
  const seen = new Map<string, FindingInput>();
  for (const audit of audits)
    for (const d of audit.divergences) {
      const key = findingKey(audit.sessionId, d.sequence, d.kind);
      if (!seen.has(key))
        seen.set(key, { ...audit, sequence: d.sequence, kind: d.kind, message: d.message });
    }
  return [...seen.values()].map(({ tenantId, sessionId, sequence, kind, message }) => ({
    tenantId,
    sessionId,
    sequence,
    kind,
    message,
  }));
}

async function auditBatch(
  agate: Agate,
  runId: string,
  batch: readonly AuditTarget[],
  since: Date | null,
  cursor: boolean,
): Promise<{ audits: SessionAudit[]; findings: Finding[] }> {
  const tenantId = batch[0]?.tenantId ?? '';
  const audits = await withTenant(agate.pool, { tenantId }, async (tx) => {
    const after = batch.map((t) => ({
      sessionId: t.sessionId,
      after: t.start?.snapshotSequence ?? 0,
    }));
    const loaded = await loadAuditSessions(tx, after, since);
    const done: SessionAudit[] = [];
    for (const t of batch) {
      const session = loaded.get(t.sessionId);
      if (session !== undefined) done.push(await auditSession(tx, agate.games, session, t.start));
    }
    return done;
  });
  const inputs = findingsOf(audits);
  const fresh = await withMaintenance(agate.pool, async (tx) => {
    const recorded = await recordFindings(tx, runId, inputs);
    const clean = audits.flatMap((a) =>
      a.progress === null ? [] : [{ ...a, progress: a.progress }],
    );
    await saveProgress(tx, clean);
    if (cursor) await saveVerifyCursor(tx, batch.at(-1)?.sessionId ?? null);
    return recorded;
  });
  const findings = inputs.map((f) => ({
    ...f,
    firstSeen: fresh.has(findingKey(f.sessionId, f.sequence, f.kind)),
  }));
  return { audits, findings };
}

/**
 * Every session that moved since its verified sequence, folded from the snapshot its last audit
 * verified, and every snapshot written since `since` (the last completed audit's mark).
 */
export async function runIncrementalAudit(
  agate: Agate,
  runId: string,
  since: Date | null,
  progress: Progress,
): Promise<AuditReport> {
  const targets = await withMaintenance(agate.pool, (tx) => incrementalTargets(tx, since));
  const report: AuditReport = {
    sessions: 0,
    fromGenesis: 0,
    snapshots: 0,
    unknownRules: 0,
    divergences: [],
  };
  for (const batch of batchesOf(targets)) {
    const { audits, findings } = await auditBatch(agate, runId, batch, since, false);
    report.sessions += audits.length;
    report.fromGenesis += audits.filter((a) => a.fromGenesis).length;
    report.snapshots += audits.reduce((n, a) => n + a.snapshotsChecked, 0);
    report.unknownRules += audits.filter((a) => a.unknownRules).length;
    report.divergences.push(...findings);
    progress(report.sessions, targets.length);
  }
  return report;
}

/**
 * The rolling full re-verification: the next `limit` sessions after the saved cursor, each from
 * genesis; the cursor is saved after every batch, so a killed run resumes where it stopped, and
 * a pass that reached the last session starts again from the first on the next run.
 */
export async function runFullVerify(
  agate: Agate,
  runId: string,
  limit: number,
  progress: Progress,
): Promise<FullVerifyReport> {
  const targets =
    limit === 0
      ? []
      : await withMaintenance(agate.pool, async (tx) => {
          const { verifyCursor } = await readNightlyState(tx);
          const next = await fullVerifyTargets(tx, verifyCursor, limit);
          return next.length > 0 || verifyCursor === null
            ? next
            : fullVerifyTargets(tx, null, limit);
        });
  const report: FullVerifyReport = { sessions: 0, limit, backlog: 0, divergences: [] };
  for (const batch of batchesOf(targets)) {
    const { audits, findings } = await auditBatch(agate, runId, batch, null, true);
    report.sessions += audits.length;
    report.divergences.push(...findings);
    progress(report.sessions, targets.length);
  }
  report.backlog = await withMaintenance(agate.pool, verifyBacklog);
  return report;
}
