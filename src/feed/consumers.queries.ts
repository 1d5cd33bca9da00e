// The feed's consumers, their slots and members (feed.*), under the tenant's RLS: every function
// runs in the caller's tenant transaction. Invariants: a slot's checkpoint only moves forward,
// except by a reset, which also bumps its epoch; every claim of a slot bumps its epoch; a
// checkpoint is written only by the slot's owner naming the epoch it claimed the slot with.
import type { PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { FeedPosition } from '../events/index.js';

export type ConsumerRow = {
  id: string;
  tenantId: string;
  name: string;
  types: string[] | null;
  slots: number;
  createdAt: Date;
  updatedAt: Date;
};

export type SlotRow = {
  slot: number;
  checkpoint: FeedPosition;
  owner: string | null;
  epoch: number;
  leaseExpiresAt: Date | null;
};

export type MemberRow = { member: string; joinedAt: Date; expiresAt: Date };

const consumerColumns = `id, tenant_id AS "tenantId", name, event_types AS types, slots,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

type RawSlot = {
  slot: number;
  tx: string;
  session: string;
  sequence: number;
  owner: string | null;
  epoch: number;
  lease: Date | null;
};

const slotColumns = `slot, checkpoint_transaction::text AS tx, checkpoint_session AS session,
  checkpoint_sequence AS sequence, owner, epoch, lease_expires_at AS lease`;

function toSlot(r: RawSlot): SlotRow {
  return {
    slot: r.slot,
    checkpoint: { transactionId: r.tx, sessionId: r.session, sequence: Number(r.sequence) },
    owner: r.owner,
    epoch: Number(r.epoch),
    leaseExpiresAt: r.lease,
  };
}

/** Where 'now' is: before every event of the transactions still open, after every older one. */
export async function selectFeedHorizon(tx: PoolClient): Promise<FeedPosition> {
  const r = await tx.query<{ xmin: string }>(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
  );
  return {
    transactionId: r.rows[0]?.xmin ?? '0',
    sessionId: '00000000-0000-0000-0000-000000000000',
    sequence: 0,
  };
}

/** Inserts the consumer and its slots unless one of that name exists; returns the stored one. */
export async function insertConsumer(
  tx: PoolClient,
  input: {
    id: string;
    tenantId: string;
    name: string;
    types: readonly string[] | null;
    slots: number;
    checkpoint: FeedPosition;
  },
): Promise<ConsumerRow> {
  const inserted = await tx.query<ConsumerRow>(
    `INSERT INTO feed.consumers (id, tenant_id, name, event_types, slots)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, name) DO NOTHING
     RETURNING ${consumerColumns}`,
    [input.id, input.tenantId, input.name, input.types, input.slots],
  );
  const row = inserted.rows[0];
  if (row === undefined) {
    const existing = await selectConsumer(tx, input.name);
    if (existing === undefined) {
      throw new AgateError(
        'internal',
        `The consumer ${JSON.stringify(input.name)} was deleted while it was being created; try again.`,
      );
    }
    return existing;
  }
  const { transactionId, sessionId, sequence } = input.checkpoint;
  await tx.query(
    `INSERT INTO feed.consumer_slots (consumer_id, tenant_id, slot, checkpoint_transaction,
            checkpoint_session, checkpoint_sequence)
     SELECT $1, $2, s, $4::xid8, $5::uuid, $6::bigint FROM generate_series(0, $3::int - 1) s`,
    [row.id, row.tenantId, input.slots, transactionId, sessionId, sequence],
  );
  return row;
}

export async function selectConsumer(
  tx: PoolClient,
  name: string,
  options: { lock?: boolean } = {},
): Promise<ConsumerRow | undefined> {
  const r = await tx.query<ConsumerRow>(
    // NO KEY UPDATE: the key stays, so members' foreign-key checks (key share) need not wait.
    `SELECT ${consumerColumns} FROM feed.consumers WHERE name = $1${options.lock === true ? ' FOR NO KEY UPDATE' : ''}`,
    [name],
  );
  return r.rows[0];
}

export async function selectConsumers(tx: PoolClient): Promise<ConsumerRow[]> {
  const r = await tx.query<ConsumerRow>(
    `SELECT ${consumerColumns} FROM feed.consumers ORDER BY name`,
  );
  return r.rows;
}

/** Every slot of the consumers `ids`, by consumer. */
export async function selectSlots(
  tx: PoolClient,
  ids: readonly string[],
): Promise<Map<string, SlotRow[]>> {
  const r = await tx.query<RawSlot & { consumer_id: string }>(
    `SELECT consumer_id, ${slotColumns} FROM feed.consumer_slots
      WHERE consumer_id = ANY($1::uuid[]) ORDER BY consumer_id, slot`,
    [ids],
  );
  const out = new Map<string, SlotRow[]>();
  for (const row of r.rows) {
    const list = out.get(row.consumer_id) ?? [];
    list.push(toSlot(row));
    out.set(row.consumer_id, list);
  }
  return out;
}

/** The live members of the consumers `ids`, by consumer. */
export async function selectMembers(
  tx: PoolClient,
  ids: readonly string[],
): Promise<Map<string, MemberRow[]>> {
  const r = await tx.query<MemberRow & { consumer_id: string }>(
    `SELECT consumer_id, member, joined_at AS "joinedAt", expires_at AS "expiresAt"
       FROM feed.consumer_members
      WHERE consumer_id = ANY($1::uuid[]) AND expires_at > clock_timestamp()
      ORDER BY consumer_id, member`,
    [ids],
  );
  const out = new Map<string, MemberRow[]>();
  for (const { consumer_id: id, ...member } of r.rows) {
    const list = out.get(id) ?? [];
    list.push(member);
    out.set(id, list);
  }
  return out;
}

/** Moves every slot to `checkpoint` and fences its owner: epoch + 1, owner and lease cleared. */
export async function resetSlots(
  tx: PoolClient,
  consumerId: string,
  checkpoint: FeedPosition,
): Promise<void> {
  // Slot rows are locked in slot order, as commitCheckpoint locks them: a reset racing a
  // member's checkpoint waits for it instead of deadlocking with it.
  await lockAllSlots(tx, consumerId);
  await tx.query(
    `UPDATE feed.consumer_slots
        SET checkpoint_transaction = $2::xid8, checkpoint_session = $3::uuid,
            checkpoint_sequence = $4::bigint, epoch = epoch + 1, owner = NULL,
            lease_expires_at = NULL, updated_at = clock_timestamp()
      WHERE consumer_id = $1`,
    [consumerId, checkpoint.transactionId, checkpoint.sessionId, checkpoint.sequence],
  );
  await tx.query('UPDATE feed.consumers SET updated_at = clock_timestamp() WHERE id = $1', [
    consumerId,
  ]);
}

async function lockAllSlots(tx: PoolClient, consumerId: string): Promise<void> {
  await tx.query(
    'SELECT slot FROM feed.consumer_slots WHERE consumer_id = $1 ORDER BY slot FOR UPDATE',
    [consumerId],
  );
}

export async function deleteConsumerRow(tx: PoolClient, name: string): Promise<boolean> {
  // The cascade to the slots takes their locks in slot order first (see resetSlots).
  await tx.query(
    `SELECT s.slot FROM feed.consumer_slots s JOIN feed.consumers c ON c.id = s.consumer_id
      WHERE c.name = $1 ORDER BY s.slot FOR UPDATE OF s`,
    [name],
  );
  const r = await tx.query('DELETE FROM feed.consumers WHERE name = $1', [name]);
  return (r.rowCount ?? 0) > 0;
}

/** Upserts the member's row with its lease; drops expired members; returns how many are live. */
export async function touchMember(
  tx: PoolClient,
  input: { consumerId: string; tenantId: string; member: string; leaseMs: number },
): Promise<number> {
  await tx.query(
    `INSERT INTO feed.consumer_members (consumer_id, tenant_id, member, expires_at)
     VALUES ($1, $2, $3, clock_timestamp() + $4 * interval '1 millisecond')
     ON CONFLICT (consumer_id, member) DO UPDATE SET expires_at = excluded.expires_at`,
    [input.consumerId, input.tenantId, input.member, input.leaseMs],
  );
  await tx.query(
    `DELETE FROM feed.consumer_members WHERE consumer_id = $1 AND expires_at <= clock_timestamp()`,
    [input.consumerId],
  );
  const r = await tx.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM feed.consumer_members WHERE consumer_id = $1',
    [input.consumerId],
  );
  return r.rows[0]?.n ?? 1;
}

/**
 * Renews the member's slots, keeps at most `fair` of them (releasing the highest), and claims
 * free or expired ones up to `fair` (epoch + 1). Rows locked by another transaction (a
 * checkpoint being written, another member's claim) are skipped, never waited on. Returns the
 * slots the member holds afterwards.
 */
export async function balanceSlots(
  tx: PoolClient,
  input: { consumerId: string; member: string; leaseMs: number; fair: number },
): Promise<SlotRow[]> {
  const { consumerId, member, leaseMs, fair } = input;
  const lease = `clock_timestamp() + $3 * interval '1 millisecond'`;
  await tx.query(
    `UPDATE feed.consumer_slots
        SET lease_expires_at = ${lease}, updated_at = clock_timestamp()
      WHERE (consumer_id, slot) IN (
            SELECT consumer_id, slot FROM feed.consumer_slots
             WHERE consumer_id = $1 AND owner = $2 FOR UPDATE SKIP LOCKED)`,
    [consumerId, member, leaseMs],
  );
  await tx.query(
    `UPDATE feed.consumer_slots
        SET owner = NULL, lease_expires_at = NULL, updated_at = clock_timestamp()
      WHERE (consumer_id, slot) IN (
            SELECT consumer_id, slot FROM feed.consumer_slots
             WHERE consumer_id = $1 AND owner = $2 ORDER BY slot OFFSET $3 FOR UPDATE SKIP LOCKED)`,
    [consumerId, member, fair],
  );
  await tx.query(
    `UPDATE feed.consumer_slots
        SET owner = $2, epoch = epoch + 1, lease_expires_at = ${lease},
            updated_at = clock_timestamp()
      WHERE (consumer_id, slot) IN (
            SELECT consumer_id, slot FROM feed.consumer_slots
             WHERE consumer_id = $1
               AND (owner IS NULL OR lease_expires_at < clock_timestamp())
             ORDER BY slot
             LIMIT greatest(0, $4::int - (SELECT count(*) FROM feed.consumer_slots
                                          WHERE consumer_id = $1 AND owner = $2))
             FOR UPDATE SKIP LOCKED)`,
    [consumerId, member, leaseMs, fair],
  );
  const held = await tx.query<RawSlot>(
    `SELECT ${slotColumns} FROM feed.consumer_slots
      WHERE consumer_id = $1 AND owner = $2 ORDER BY slot`,
    [consumerId, member],
  );
  return held.rows.map(toSlot);
}

/** Frees the member's slots and deletes its member row. */
export async function releaseMember(
  tx: PoolClient,
  input: { consumerId: string; member: string },
): Promise<void> {
  await tx.query(
    `UPDATE feed.consumer_slots SET owner = NULL, lease_expires_at = NULL,
            updated_at = clock_timestamp()
      WHERE consumer_id = $1 AND owner = $2`,
    [input.consumerId, input.member],
  );
  await tx.query('DELETE FROM feed.consumer_members WHERE consumer_id = $1 AND member = $2', [
    input.consumerId,
    input.member,
  ]);
}

/** Locks the slot rows (waiting for them), in slot order so two writers never deadlock. */
export async function lockSlots(
  tx: PoolClient,
  consumerId: string,
  slots: readonly number[],
): Promise<SlotRow[]> {
  const r = await tx.query<RawSlot>(
    `SELECT ${slotColumns} FROM feed.consumer_slots
      WHERE consumer_id = $1 AND slot = ANY($2::int[]) ORDER BY slot FOR UPDATE`,
    [consumerId, slots],
  );
  return r.rows.map(toSlot);
}

/**
 * Moves the slots' checkpoints forward to `position` (never back) and renews their lease, in one
 * statement: a second UPDATE of a row this transaction already updated fires the foreign-key
 * check on feed.consumers (PostgreSQL re-checks rows the transaction itself wrote), whose key
 * share lock then deadlocked with a reset holding the consumer row while it waited for the slots.
 */
export async function advanceSlots(
  tx: PoolClient,
  input: { consumerId: string; slots: readonly number[]; position: FeedPosition; leaseMs: number },
): Promise<void> {
  const { transactionId, sessionId, sequence } = input.position;
  const ahead = `(checkpoint_transaction, checkpoint_session, checkpoint_sequence)
                 < ($3::xid8, $4::uuid, $5::bigint)`;
  await tx.query(
    `UPDATE feed.consumer_slots
        SET checkpoint_transaction = CASE WHEN ${ahead} THEN $3::xid8 ELSE checkpoint_transaction END,
            checkpoint_session = CASE WHEN ${ahead} THEN $4::uuid ELSE checkpoint_session END,
            checkpoint_sequence = CASE WHEN ${ahead} THEN $5::bigint ELSE checkpoint_sequence END,
            lease_expires_at = clock_timestamp() + $6 * interval '1 millisecond',
            updated_at = clock_timestamp()
      WHERE consumer_id = $1 AND slot = ANY($2::int[])`,
    [input.consumerId, input.slots, transactionId, sessionId, sequence, input.leaseMs],
  );
}
