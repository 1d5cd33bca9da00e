export type SnapshotReason = 'interval' | 'day_boundary' | 'manual';
export type Boundary = { sequence: number; reason: SnapshotReason };

/** A snapshot every this many events (at 50, 100, ...). */
export const snapshotInterval = 50;

/**
 * The snapshots a committed batch calls for: every multiple of the interval it reached, and
 * every event that ends one of the game's days. One per sequence (interval wins a tie), ascending.
 */
export function snapshotBoundaries(
  firstSequence: number,
  types: readonly string[],
  dayBoundaryTypes: readonly string[],
): Boundary[] {
  const found: Boundary[] = [];
  types.forEach((type, i) => {
    const sequence = firstSequence + i;
    if (sequence % snapshotInterval === 0) found.push({ sequence, reason: 'interval' });
    else if (dayBoundaryTypes.includes(type)) found.push({ sequence, reason: 'day_boundary' });
  });
  return found;
}
