export type SnapshotReason = 'interval' | 'day_boundary' | 'manual';
export type Boundary = { sequence: number; reason: SnapshotReason };

/** A snapshot every this many events (at 50, 100, ...). */
export const snapshotInterval = 50;

/** Why a snapshot belongs after the event at `sequence` of `type`, or null (interval wins a tie). */
export function boundaryAt(
  sequence: number,
  type: string,
  dayBoundaryTypes: readonly string[],
): SnapshotReason | null {
  if (sequence > 0 && sequence % snapshotInterval === 0) return 'interval';
  return dayBoundaryTypes.includes(type) ? 'day_boundary' : null;
}

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
    const reason = boundaryAt(sequence, type, dayBoundaryTypes);
    if (reason !== null) found.push({ sequence, reason });
  });
  return found;
}
