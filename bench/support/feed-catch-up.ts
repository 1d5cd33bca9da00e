// The three ways the catch-up rows read a tenant's whole feed: a plain keyset read as the owner
// (the baseline), the feed's own pages, and a durable consumer until it is idle. Each hands every
// event to a ledger, so that a reader that is fast because it skipped or repeated rows fails.
import type { Pool } from '../../src/db/index.js';
import { readFeed } from '../../src/events/index.js';
import type { FeedPosition } from '../../src/events/index.js';
import { startConsumer } from '../../src/feed/index.js';
import type { DeliveryLedger } from './delivery-ledger.js';

export const catchUpPage = 1_000;

/** The feed's columns in the primary key's order, as the owner: no RLS, no horizon. */
const rawPageSql = `
  SELECT transaction_id::text AS transaction_id, tenant_id, session_id, sequence, event_id,
         event_type, event_version, event_data, client_time, server_time, hash
    FROM game.events
   WHERE (session_id, sequence) > ($1::uuid, $2::bigint)
   ORDER BY session_id, sequence
   LIMIT ${catchUpPage}`;

type RawRow = {
  transaction_id: string;
  tenant_id: string;
  session_id: string;
  sequence: number;
  event_id: string;
  event_type: string;
  event_version: number;
  event_data: Record<string, unknown>;
  client_time: Date | null;
  server_time: Date;
  hash: Buffer;
};

/** The same object shape a feed event has, so both pay for building it. */
function parseRaw(r: RawRow) {
  return {
    position: { transactionId: r.transaction_id, sessionId: r.session_id, sequence: r.sequence },
    tenantId: r.tenant_id,
    sessionId: r.session_id,
    sequence: r.sequence,
    previousSequence: r.sequence - 1,
    eventId: r.event_id,
    type: r.event_type,
    version: r.event_version,
    data: r.event_data,
    clientTime: r.client_time,
    serverTime: r.server_time,
    hash: r.hash.toString('hex'),
  };
}

/** Pages of 1,000 in (session, sequence) order on one connection of `ownerPool`. */
export async function readRaw(ownerPool: Pool, ledger: DeliveryLedger): Promise<void> {
  let after = { sessionId: '00000000-0000-0000-0000-000000000000', sequence: 0 };
  for (;;) {
    const result = await ownerPool.query<RawRow>(rawPageSql, [after.sessionId, after.sequence]);
    for (const row of result.rows) {
      const event = parseRaw(row);
      ledger.record(event.sessionId, event.sequence);
    }
    const last = result.rows.at(-1);
    if (last === undefined || result.rows.length < catchUpPage) return;
    after = { sessionId: last.session_id, sequence: last.sequence };
  }
}

/** `readFeed` pages of 1,000 from the start, as agate_app in the tenant, until one is short. */
export async function readWholeFeed(
  pool: Pool,
  tenantId: string,
  ledger: DeliveryLedger,
): Promise<void> {
  let after: FeedPosition | undefined;
  for (;;) {
    const page = await readFeed({ pool }, { tenantId, after, limit: catchUpPage });
    for (const event of page.events) ledger.record(event.sessionId, event.sequence);
    after = page.events.at(-1)?.position ?? after;
    // A held page waits behind a transaction still open (none in this run but autovacuum's).
    if (page.events.length < catchUpPage && !page.held) return;
  }
}

/**
 * Waits until no transaction open anywhere in the cluster is older than the newest stored event's
 * (the feed's horizon, ADR 0021, is cluster-wide: a long write transaction in another database on
 * a shared machine holds this feed back too), so the timed reads measure reading, not waiting.
 * Returns how long it waited; throws after `timeoutMs`.
 */
export async function waitForHorizon(ownerPool: Pool, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const r = await ownerPool.query<{ passed: boolean }>(
      `SELECT coalesce(max(transaction_id) < pg_snapshot_xmin(pg_current_snapshot()), true) AS passed
         FROM game.events`,
    );
    if (r.rows[0]?.passed === true) return performance.now() - started;
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `a transaction open elsewhere on the server held the feed's horizon for ${timeoutMs} ms; see pg_stat_activity (backend_xid) for the oldest writer`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A new durable consumer named `name` (so it starts at the beginning) with a no-op-but-count
 * at-least-once handler, from its start until `idle()`: ensure, join, receive, the continuity
 * checks and a checkpoint per batch of 1,000, as a service catching up would run it.
 */
export async function consumeWholeFeed(
  pool: Pool,
  tenantId: string,
  name: string,
  ledger: DeliveryLedger,
): Promise<void> {
  const handle = await startConsumer(pool, {
    tenantId,
    definition: {
      name,
      types: null,
      mode: 'at-least-once',
      handle: (events) => {
        for (const event of events) ledger.record(event.sessionId, event.sequence);
        return Promise.resolve();
      },
    },
    batchSize: catchUpPage,
  });
  try {
    await handle.idle();
  } finally {
    await handle.stop();
  }
}
