import { uuidv7 } from 'uuidv7';
import { connectClient, withMaintenance } from '../../db/index.js';
import { countMissingSnapshots, recordAnchors } from '../../events/index.js';
import { maintainPartitions } from '../../../partitions/index.js';
import type { MaintainReport } from '../../../partitions/index.js';
import type { Agate } from '../../runtime/index.js';
import { snapshotInterval, writeSnapshot } from '../../snapshots/index.js';
import type { SnapshotTarget } from '../../snapshots/index.js';
import { auditMark, findingKey, readNightlyState, saveCompletedRun } from './audit-store.js';
import { dayBoundaryTargets, missingIntervalTargets } from './find-work.js';
import { runFullVerify, runIncrementalAudit } from './run-audit.js';
import type { AuditReport, Finding, FullVerifyReport } from './run-audit.js';

export const nightlyStages = [
  'partitions',
  'day_snapshots',
  'audit',
  'full_verify',
  'interval_snapshots',
  'anchors',
  'summary',
] as const;
export type NightlyStage = (typeof nightlyStages)[number];

export type NightlyOptions = {
  /** The clock: the day boundary is the start of this UTC day (default: now). */
  now?: Date;
  /** How snapshot work is carried out: in process (default) or handed to the snapshot queue. */
  dispatch?: (targets: SnapshotTarget[]) => Promise<void>;
  /**
   * With a dispatch that hands work to others (the queue), how long the audit waits for the
   * day's snapshots to exist before it checks them (default 10 minutes).
   */
  settleTimeoutMs?: number;
  /** Sessions per batch of snapshot work handed out, and per transaction of anchors (default 200). */
  batchSize?: number;
  /** Sessions the rolling full re-verification replays from genesis in this run (default 500). */
  fullVerifyLimit?: number;
  onProgress?: (stage: NightlyStage, done: number, total: number) => void;
  /** A test hook: the process kills itself (SIGKILL) when it reaches this stage. */
  failpoint?: string;
};

export type NightlySummary = {
  runId: string;
  boundary: string;
  partitions: MaintainReport | null;
  /** `pending`: snapshots handed to the queue that did not exist yet when the audit began. */
  daySnapshots: { targets: number; pending: number };
  /** Every snapshot written since the last completed audit, and every moved session's chain. */
  audit: AuditReport;
  fullVerify: FullVerifyReport;
  intervalSnapshots: { targets: number };
  anchors: { recorded: number };
  durationsMs: Record<string, number>;
};

/** Sessions the rolling full re-verification covers per run unless told otherwise. */
export const defaultFullVerifyLimit = 500;

/**
 * What this run found wrong, each finding once (both stages may see it), new or recorded by an
 * earlier run: both are unresolved.
 */
export function divergencesOf(summary: NightlySummary): Finding[] {
  const byKey = new Map<string, Finding>();
  for (const d of [...summary.audit.divergences, ...summary.fullVerify.divergences]) {
    const key = findingKey(d.sessionId, d.sequence, d.kind);
    if (!byKey.has(key)) byKey.set(key, d);
  }
  return [...byKey.values()];
}

export type NightlyResult =
  { ran: true; summary: NightlySummary } | { ran: false; reason: 'locked'; message: string };

const lockKey = '7163020553791425002';

function utcDayStart(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

async function inBatches(
  targets: SnapshotTarget[],
  size: number,
  dispatch: (t: SnapshotTarget[]) => Promise<void>,
  progress: (done: number) => void,
): Promise<void> {
  for (let i = 0; i < targets.length; i += size) {
    await dispatch(targets.slice(i, i + size));
    progress(Math.min(targets.length, i + size));
  }
}

/**
 * The nightly run: partitions, day-boundary snapshots, an audit of every snapshot written since
 * the last completed audit and of every moved session's chain from where it was last verified, a
 * bounded slice of the rolling full re-verification, missing interval snapshots, head-hash
 * anchors, and a summary in the audit log (which also advances the audit mark).
 * Every stage only adds what is missing, so a run killed anywhere and run again finishes with
 * the same end state; a second run at the same time finds the lock taken and returns.
 */
export async function runNightly(
  agate: Agate,
  connectionString: string,
  options: NightlyOptions = {},
): Promise<NightlyResult> {
  const lock = await connectClient({ connectionString, applicationName: 'agate nightly' });
  try {
    const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      lockKey,
    ]);
    if (got.rows[0]?.ok !== true)
      return {
        ran: false,
        reason: 'locked',
        message: 'Another nightly run is in progress; it does the work.',
      };
    return { ran: true, summary: await runStages(agate, connectionString, options) };
  } finally {
    await lock.end();
  }
}

async function runStages(
  agate: Agate,
  connectionString: string,
  options: NightlyOptions,
): Promise<NightlySummary> {
  const now = options.now ?? new Date();
  const boundary = utcDayStart(now);
  const runId = uuidv7();
  const dispatch = options.dispatch ?? ((targets) => writeAll(agate, targets));
  const size = options.batchSize ?? 200;
  const durations: Record<string, number> = {};
  const stage = async <T>(name: NightlyStage, work: () => Promise<T>): Promise<T> => {
    if (options.failpoint === name) process.kill(process.pid, 'SIGKILL');
    const started = performance.now();
    const result = await work();
    durations[name] = Math.round(performance.now() - started);
    return result;
  };
  const progress = (name: NightlyStage, total: number) => (done: number, of?: number) =>
    options.onProgress?.(name, done, of ?? total);

  const partitions = await stage('partitions', () => maintainPartitions(connectionString, { now }));
  const day = await stage('day_snapshots', async () => {
    const targets = await withMaintenance(agate.pool, (tx) => dayBoundaryTargets(tx, boundary));
    await inBatches(targets, size, dispatch, progress('day_snapshots', targets.length));
    const pending =
      options.dispatch === undefined
        ? 0
        : await settle(agate, targets, options.settleTimeoutMs ?? 600_000);
    return { targets: targets.length, pending };
  });
  const { audit, mark } = await stage('audit', async () => {
    const taken = await auditMark(agate.pool);
    const { auditedUntil: since } = await withMaintenance(agate.pool, readNightlyState);
    const report = await runIncrementalAudit(agate, runId, since, progress('audit', 0));
    return { audit: report, mark: taken };
  });
  const fullVerify = await stage('full_verify', () =>
    runFullVerify(
      agate,
      runId,
      options.fullVerifyLimit ?? defaultFullVerifyLimit,
      progress('full_verify', 0),
    ),
  );
  const interval = await stage('interval_snapshots', async () => {
    const targets = await withMaintenance(agate.pool, (tx) =>
      missingIntervalTargets(tx, snapshotInterval),
    );
    await inBatches(targets, size, dispatch, progress('interval_snapshots', targets.length));
    return targets.length;
  });
  const anchors = await stage('anchors', () => recordAllAnchors(agate, runId, boundary, size));
  const summary: NightlySummary = {
    runId,
    boundary: boundary.toISOString(),
    partitions,
    daySnapshots: day,
    audit,
    fullVerify,
    intervalSnapshots: { targets: interval },
    anchors: { recorded: anchors },
    durationsMs: durations,
  };
  await stage('summary', () => recordSummary(agate, summary, mark));
  return summary;
}

/**
 * Every moved head's anchor, `size` sessions per transaction: one transaction for all of them
 * would hold every tenant's feed back for as long as it writes. A run killed between pages
 * leaves the rest to the next run (recording is idempotent).
 */
async function recordAllAnchors(
  agate: Agate,
  runId: string,
  boundary: Date,
  size: number,
): Promise<number> {
  let recorded = 0;
  let after: string | null = null;
  for (;;) {
    const page: { after: string | null; limit: number } = { after, limit: size };
    const done: { recorded: number; last: string | null } = await withMaintenance(
      agate.pool,
      (tx) => recordAnchors(tx, runId, boundary, page),
    );
    recorded += done.recorded;
    if (done.last === null || done.recorded < size) return recorded;
    after = done.last;
  }
}

/** How many of `targets` have no snapshot yet. */
async function missing(agate: Agate, targets: readonly SnapshotTarget[]): Promise<number> {
  if (targets.length === 0) return 0;
  return withMaintenance(agate.pool, (tx) => countMissingSnapshots(tx, targets));
}

/**
 * Waits (bounded) until the snapshots handed to the queue exist, so the audit samples them;
 * returns how many are still missing when it gives up (the next night's run writes them).
 */
async function settle(
  agate: Agate,
  targets: readonly SnapshotTarget[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let left = await missing(agate, targets);
  while (left > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = await missing(agate, targets);
  }
  return left;
}

async function writeAll(agate: Agate, targets: SnapshotTarget[]): Promise<void> {
  for (const target of targets) await writeSnapshot(agate, target);
}

/** The summary entry and the audit mark, together: a run counts as completed with both. */
async function recordSummary(agate: Agate, summary: NightlySummary, mark: Date): Promise<void> {
  await withMaintenance(agate.pool, async (tx) => {
    await tx.query(
      `INSERT INTO admin.audit_log (id, tenant_id, actor, action, subject, details) VALUES ($1, NULL, 'nightly', 'nightly.completed', $2, $3)`,
      [uuidv7(), summary.runId, JSON.stringify(summary)],
    );
    await saveCompletedRun(tx, mark);
  });
}
