// After the load stops: does the derived data catch up, and how fast? Checked, not assumed.
import type { Redis } from 'ioredis';
import { hotStateKey } from '../../src/cache/index.js';
import type { Pool } from '../../src/db/index.js';
import { snapshotInterval } from '../../src/snapshots/index.js';
import type { Ledger } from './gate-traffic.js';

/** `byKind`: when each kind of derived data was first complete (ms after the load stopped). */
export type Drain = {
  drainMs: number;
  missing: string[];
  byKind: Partial<Record<DerivedKind, number>>;
};

type DerivedKind = 'snapshots' | 'analytics' | 'hot state';
type Missing = { kind: DerivedKind; text: string };

/** What each acknowledged session calls for: a snapshot at every 50th sequence and day end. */
function expectedSnapshots(ledger: Ledger): { sessions: string[]; sequences: number[] } {
  const sessions: string[] = [];
  const sequences: number[] = [];
  for (const [sessionId, { last, dayEnds }] of ledger) {
    const wanted = new Set(dayEnds);
    for (let s = snapshotInterval; s <= last; s += snapshotInterval) wanted.add(s);
    for (const s of wanted) {
      sessions.push(sessionId);
      sequences.push(s);
    }
  }
  return { sessions, sequences };
}

async function missingNow(
  pool: Pool,
  redis: Redis | null,
  tenantId: string,
  ledger: Ledger,
  acked: number,
): Promise<Missing[]> {
  const missing: Missing[] = [];
  const { sessions, sequences } = expectedSnapshots(ledger);
  const snaps = await pool.query<{ session_id: string; sequence: string }>(
    `SELECT e.session_id, e.sequence FROM unnest($1::uuid[], $2::bigint[]) AS e(session_id, sequence)
      WHERE NOT EXISTS (SELECT 1 FROM game.snapshots s
                         WHERE s.session_id = e.session_id AND s.sequence = e.sequence)`,
    [sessions, sequences],
  );
  if (snaps.rows.length > 0) {
    const first = snaps.rows[0];
    missing.push({
      kind: 'snapshots',
      text: `${snaps.rows.length} of ${sessions.length} snapshots (game.snapshots at every 50th sequence and day.ended), e.g. ${first?.session_id}@${first?.sequence}`,
    });
  }
  const analytics = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM analytics.events WHERE tenant_id = $1',
    [tenantId],
  );
  const rows = analytics.rows[0]?.n ?? 0;
  if (rows !== acked) {
    missing.push({
      kind: 'analytics',
      text: `analytics.events has ${rows} rows for ${acked} events`,
    });
  }
  if (redis !== null) {
    const ids = [...ledger.keys()].filter((id) => (ledger.get(id)?.last ?? 0) > 0);
    const values =
      ids.length === 0 ? [] : await redis.mget(ids.map((id) => hotStateKey(tenantId, id)));
    const behind = ids.filter((id, i) => {
      const raw = values[i];
      const stored = raw == null ? null : /^\{"sequence":(\d+)/.exec(raw)?.[1];
      return stored == null || Number(stored) !== ledger.get(id)?.last;
    });
    if (behind.length > 0) {
      missing.push({
        kind: 'hot state',
        text: `${behind.length} of ${ids.length} sessions' Redis hot state not at their last sequence, e.g. ${behind[0]}`,
      });
    }
  }
  return missing;
}

/**
 * Polls until every snapshot, analytics row and (with Redis) hot state entry the acknowledged
 * events call for is there, or `timeoutMs` passes; returns the time that took and what is still
 * missing (nothing when it drained).
 */
export async function awaitDerived(
  pool: Pool,
  redis: Redis | null,
  tenantId: string,
  ledger: Ledger,
  acked: number,
  timeoutMs: number,
): Promise<Drain> {
  const start = performance.now();
  const kinds: DerivedKind[] =
    redis === null ? ['snapshots', 'analytics'] : ['snapshots', 'analytics', 'hot state'];
  const byKind: Drain['byKind'] = {};
  for (;;) {
    const missing = await missingNow(pool, redis, tenantId, ledger, acked);
    const drainMs = performance.now() - start;
    for (const kind of kinds) {
      if (byKind[kind] === undefined && !missing.some((m) => m.kind === kind))
        byKind[kind] = drainMs;
    }
    if (missing.length === 0 || drainMs > timeoutMs) {
      return { drainMs, missing: missing.map((m) => m.text), byKind };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
