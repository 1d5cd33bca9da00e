import type { PoolClient } from '../../db/index.js';
import { listDayBoundaryTargets, listMissingIntervalTargets } from '../../events/index.js';
import type { SnapshotTarget } from '../../snapshots/index.js';

/**
 * The nightly job's snapshot work, found across tenants: they run as agate_maintenance
 * (BYPASSRLS), the only role allowed to enumerate every tenant's sessions; the work on each
 * session then runs in its tenant's context.
 */
export async function dayBoundaryTargets(
  tx: PoolClient,
  boundary: Date,
): Promise<SnapshotTarget[]> {
  const spots = await listDayBoundaryTargets(tx, boundary);
  return spots.map((spot) => ({ ...spot, reason: 'day_boundary' }));
}

/** Interval snapshots (every 50th sequence) that a crash between commit and snapshot left out. */
export async function missingIntervalTargets(
  tx: PoolClient,
  interval: number,
): Promise<SnapshotTarget[]> {
  const spots = await listMissingIntervalTargets(tx, interval);
  return spots.map((spot) => ({ ...spot, reason: 'interval' }));
}
