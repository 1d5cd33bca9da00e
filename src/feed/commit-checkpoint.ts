import type { PoolClient } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { FeedPosition } from '../events/index.js';
import { advanceSlots, lockSlots } from './consumers.queries.js';

export type CommitCheckpointInput = {
  tenantId: string;
  consumerId: string;
  member: string;
  /** The slots the delivered batch covered, each with the epoch the member claimed it with. */
  slots: readonly { slot: number; epoch: number }[];
  /** The position of the batch's last event. */
  position: FeedPosition;
  /** Renews the slots' lease by this much (default 30 s). */
  leaseMs?: number;
};

/**
 * Fenced checkpoint write, in the caller's tenant transaction: locks the slot rows (waiting for
 * them), requires every one to be owned by `member` under the given epoch, else throws
 * `lease_lost` so the caller's transaction (a transactional handler's writes with it) rolls
 * back; then moves each checkpoint forward to `position` (never back) and renews the lease.
 * Call it before a transactional handler's writes, so the lock and the check come first.
 */
export async function commitCheckpoint(
  tx: PoolClient,
  input: CommitCheckpointInput,
): Promise<void> {
  const wanted = [...new Set(input.slots.map((s) => s.slot))].sort((a, b) => a - b);
  if (wanted.length === 0) return;
  const rows = await lockSlots(tx, input.consumerId, wanted);
  const bySlot = new Map(rows.map((r) => [r.slot, r]));
  const lost = input.slots.filter((s) => {
    const row = bySlot.get(s.slot);
    return row === undefined || row.owner !== input.member || row.epoch !== s.epoch;
  });
  if (lost.length > 0) {
    throw new AgateError(
      'lease_lost',
      `The member ${JSON.stringify(input.member)} no longer holds slot${lost.length > 1 ? 's' : ''} ${lost.map((s) => s.slot).join(', ')} under the epoch it claimed (its lease expired and another member took over, the group rebalanced, or the consumer was reset): nothing was checkpointed; rejoin and receive again.`,
      {
        details: {
          slots: lost.map((s) => ({
            slot: s.slot,
            epoch: s.epoch,
            currentEpoch: bySlot.get(s.slot)?.epoch ?? null,
            owner: bySlot.get(s.slot)?.owner ?? null,
          })),
        },
      },
    );
  }
  await advanceSlots(tx, {
    consumerId: input.consumerId,
    slots: wanted,
    position: input.position,
    leaseMs: input.leaseMs ?? 30_000,
  });
}
