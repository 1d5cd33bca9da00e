import { uuidv7 } from 'uuidv7';
import { connectClient, withMaintenance } from '../../db/index.js';
import { maintainPartitions } from '../../../partitions/index.js';
import type { MaintainReport } from '../../../partitions/index.js';
import type { Agate } from '../../runtime/index.js';
import { snapshotInterval, writeSnapshot } from '../../snapshots/index.js';
import type { SnapshotTarget } from '../../snapshots/index.js';
import type { Divergence } from '../../../replay/index.js';
import {
  auditSample,
  dayBoundaryTargets,
  missingIntervalTargets,
  recordAnchors,
} from './find-work.js';

export const nightlyStages = [
  'partitions',
  'day_snapshots',
  'audit',
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
   * day's snapshots to exist before it samples them (default 10 minutes).
   */
  settleTimeoutMs?: number;
  batchSize?: number;
  auditRateBp?: number;
  auditMin?: number;
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
  audit: { sampled: number; verified: number; divergences: (Divergence & { sessionId: string })[] };
  intervalSnapshots: { targets: number };
  anchors: { recorded: number };
  durationsMs: Record<string, number>;
};

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
 * The nightly run: partitions, day-boundary snapshots, a replay audit of a sample of the day's
 * snapshots, missing interval snapshots, head-hash anchors, and a summary in the audit log.
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
  const progress = (name: NightlyStage, total: number) => (done: number) =>
    options.onProgress?.(name, done, total);

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
  const audit = await stage('audit', () => auditDay(agate, boundary, runId, options));
  const interval = await stage('interval_snapshots', async () => {
    const targets = await withMaintenance(agate.pool, (tx) =>
      missingIntervalTargets(tx, snapshotInterval),
    );
    await inBatches(targets, size, dispatch, progress('interval_snapshots', targets.length));
    return targets.length;
  });
  const anchors = await stage('anchors', () =>
    withMaintenance(agate.pool, (tx) => recordAnchors(tx, runId, boundary)),
  );
  const summary: NightlySummary = {
    runId,
    boundary: boundary.toISOString(),
    partitions,
    daySnapshots: day,
    audit,
    intervalSnapshots: { targets: interval },
    anchors: { recorded: anchors },
    durationsMs: durations,
  };
  await stage('summary', () => recordSummary(agate, summary));
  return summary;
}

/** How many of `targets` have no snapshot yet. */
async function missing(agate: Agate, targets: readonly SnapshotTarget[]): Promise<number> {
  if (targets.length === 0) return 0;
  const r = await withMaintenance(agate.pool, (tx) =>
    tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM unnest($1::uuid[], $2::bigint[]) AS t(session_id, sequence)
        WHERE NOT EXISTS (SELECT 1 FROM game.snapshots s WHERE s.session_id = t.session_id AND s.sequence = t.sequence)`,
      [targets.map((t) => t.sessionId), targets.map((t) => t.sequence)],
    ),
  );
  return r.rows[0]?.n ?? 0;
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
  for (const target of targets)
    await writeSnapshot({ pool: agate.pool, store: agate.store, games: agate.games }, target);
}

async function auditDay(
  agate: Agate,
  boundary: Date,
  runId: string,
  options: NightlyOptions,
): Promise<NightlySummary['audit']> {
  const since = new Date(boundary.getTime() - 86_400_000);
  const sample = await withMaintenance(agate.pool, (tx) =>
    auditSample(tx, since, options.auditRateBp ?? 100, options.auditMin ?? 10, runId),
  );
  const divergences: NightlySummary['audit']['divergences'] = [];
  let verified = 0;
  for (const [i, s] of sample.entries()) {
    const result = await agate.replay({
      tenantId: s.tenantId,
      sessionId: s.sessionId,
      verify: true,
    });
    if (result.verified === true) verified += 1;
    divergences.push(...result.divergences.map((d) => ({ ...d, sessionId: s.sessionId })));
    options.onProgress?.('audit', i + 1, sample.length);
  }
  return { sampled: sample.length, verified, divergences };
}

async function recordSummary(agate: Agate, summary: NightlySummary): Promise<void> {
  await withMaintenance(agate.pool, (tx) =>
    tx.query(
      `INSERT INTO admin.audit_log (id, tenant_id, actor, action, subject, details) VALUES ($1, NULL, 'nightly', 'nightly.completed', $2, $3)`,
      [uuidv7(), summary.runId, JSON.stringify(summary)],
    ),
  );
}
