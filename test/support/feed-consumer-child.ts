// One member of a durable consumer group in a process of its own, for the tests that SIGKILL,
// SIGSTOP and restart members (test/reliability/feed-adversarial.test.ts). Its transactional
// handler writes one row per delivered event to proof.projection, in the checkpoint's
// transaction, with the slot's owner and epoch as that transaction sees them (the checkpoint
// locked the slot rows first, so they are the ones the write is fenced by), the member and its
// incarnation, and the time. Prints "ready" once joined; each failure reported to onError is a
// JSON line {"error": code, "message": ...} on stdout. SIGTERM stops it cleanly.
//   DATABASE_URL, AGATE_TENANT, AGATE_CONSUMER, AGATE_MEMBER   who and where
//   AGATE_INCARNATION   which start of this member this is (recorded in each row)
//   AGATE_LEASE_MS, AGATE_SLOTS, AGATE_BATCH                   the group's lease, slots, batch size
//   AGATE_HANG_AFTER_HANDLER=1   after the first batch's rows are written, print "handled" and
//                                never reach the checkpoint's commit (for a kill at that moment)
import { createPool } from '../../src/db/index.js';
import type { PoolClient } from '../../src/db/index.js';
import { isAgateError } from '../../src/errors/index.js';
import type { FeedEvent } from '../../src/events/index.js';
import { startConsumer } from '../../src/feed/index.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`feed-consumer-child: set ${name}`);
  return value;
}

const consumer = required('AGATE_CONSUMER');
const member = required('AGATE_MEMBER');
const incarnation = Number(required('AGATE_INCARNATION'));
const slots = Number(process.env.AGATE_SLOTS ?? '16');
const hang = process.env.AGATE_HANG_AFTER_HANDLER === '1';
const pool = createPool({
  connectionString: required('DATABASE_URL'),
  max: 3,
  applicationName: `proof-${member}`,
  onIdleError: () => undefined,
});

async function project(tx: PoolClient, events: readonly FeedEvent[]): Promise<void> {
  await tx.query(
    `INSERT INTO proof.projection (consumer, tenant_id, session_id, sequence, event_id,
                                   position_xid, slot, epoch, owner, member, incarnation, stamped_at)
     SELECT $1, e.tenant_id, e.session_id, e.sequence, e.event_id, e.xid::xid8, e.slot, s.epoch,
            s.owner, $2, $3, clock_timestamp()
       FROM unnest($4::uuid[], $5::uuid[], $6::bigint[], $7::uuid[], $8::text[])
              WITH ORDINALITY AS u(tenant_id, session_id, sequence, event_id, xid, ord)
      CROSS JOIN LATERAL (SELECT u.*, get_byte(uuid_send(u.session_id), 15) % $9 AS slot) e
       LEFT JOIN feed.consumer_slots s
              ON s.consumer_id = (SELECT c.id FROM feed.consumers c WHERE c.name = $1)
             AND s.slot = e.slot
      ORDER BY e.ord`,
    [
      consumer,
      member,
      incarnation,
      events.map((e) => e.tenantId),
      events.map((e) => e.sessionId),
      events.map((e) => e.sequence),
      events.map((e) => e.eventId),
      events.map((e) => e.position.transactionId),
      slots,
    ],
  );
  if (hang) {
    process.stdout.write('handled\n');
    await new Promise<never>(() => undefined);
  }
}

const report = (error: unknown) => {
  const code = isAgateError(error) ? error.code : 'other';
  const message = error instanceof Error ? error.message : String(error);
  process.stdout.write(`${JSON.stringify({ error: code, message })}\n`);
};

const handle = await startConsumer(pool, {
  tenantId: required('AGATE_TENANT'),
  member,
  leaseMs: Number(process.env.AGATE_LEASE_MS ?? '1000'),
  pollMs: 200,
  batchSize: Number(process.env.AGATE_BATCH ?? '20'),
  onError: report,
  definition: { name: consumer, types: null, slots, mode: 'transactional', handle: project },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void handle
    .stop()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
