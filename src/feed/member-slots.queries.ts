// The slots a member holds now, read without claiming or renewing anything (feed.consumer_slots,
// under the tenant's RLS, in the caller's tenant transaction). A slot whose lease has run out is
// left out: another member may claim it at any moment, so its owner should rejoin first.
import type { PoolClient } from '../db/index.js';
import type { FeedPosition } from '../events/index.js';

export type HeldSlot = { slot: number; epoch: number; checkpoint: FeedPosition };

export async function selectHeldSlots(
  tx: PoolClient,
  input: { consumerId: string; member: string },
): Promise<HeldSlot[]> {
  const r = await tx.query<{
    slot: number;
    epoch: string;
    tx: string;
    session: string;
    sequence: string;
  }>(
    `SELECT slot, epoch, checkpoint_transaction::text AS tx, checkpoint_session AS session,
            checkpoint_sequence AS sequence
       FROM feed.consumer_slots
      WHERE consumer_id = $1 AND owner = $2 AND lease_expires_at > clock_timestamp()
      ORDER BY slot`,
    [input.consumerId, input.member],
  );
  return r.rows.map((row) => ({
    slot: row.slot,
    epoch: Number(row.epoch),
    checkpoint: {
      transactionId: row.tx,
      sessionId: row.session,
      sequence: Number(row.sequence),
    },
  }));
}
