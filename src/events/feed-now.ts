import { fromPgError } from '../db/index.js';
import type { Queryable } from '../db/index.js';
import type { FeedPosition } from './feed-position.js';

const lastSession = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * "Now" in the feed: the position after every event of a transaction older than every
 * transaction open at this moment (the feed's horizon, ADR 0021). A reader that starts here gets
 * every event committed later and nothing that ended before; events of transactions that were
 * still open, or had committed while an older one was open, come after it, so starting from now
 * can repeat a few recent events but never skips one.
 */
export async function feedNow(db: Queryable): Promise<FeedPosition> {
  let result: { rows: { horizon: string }[] };
  try {
    result = await db.query<{ horizon: string }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon',
    );
  } catch (error) {
    throw fromPgError(error);
  }
  return beforeHorizon(result.rows[0]?.horizon ?? '1');
}

/**
 * The position after every event of the transactions older than `horizon` (an xid8, decimal):
 * the last position a statement whose snapshot had that xmin can have read through.
 */
export function beforeHorizon(horizon: string): FeedPosition {
  const xmin = BigInt(horizon);
  return {
    transactionId: (xmin > 0n ? xmin - 1n : 0n).toString(),
    sessionId: lastSession,
    sequence: Number.MAX_SAFE_INTEGER,
  };
}
