import { AgateError } from '../errors/index.js';
import type { FeedPosition } from '../events/index.js';

/** A slot a member holds: the epoch it claimed it with and the checkpoint it found. */
export type MemberSlot = { slot: number; epoch: number; checkpoint: FeedPosition };

/** What a member holds after a join (or heartbeat); a commit names these epochs. */
export type Membership = {
  tenantId: string;
  consumerId: string;
  name: string;
  member: string;
  types: readonly string[] | null;
  /** The consumer's slot count (a session's slot is the last byte of its id modulo this). */
  slotCount: number;
  slots: MemberSlot[];
  leaseMs: number;
};

export const minLeaseMs = 100;
export const maxLeaseMs = 600_000;

export function checkMember(member: unknown): string {
  if (typeof member !== 'string' || member.length < 1 || member.length > 200) {
    throw new AgateError(
      'invalid_request',
      'A member is named by 1 to 200 characters, unique to the process (for example host and pid).',
    );
  }
  return member;
}

export function checkLease(leaseMs: unknown): number {
  if (
    typeof leaseMs !== 'number' ||
    !Number.isSafeInteger(leaseMs) ||
    leaseMs < minLeaseMs ||
    leaseMs > maxLeaseMs
  ) {
    throw new AgateError(
      'invalid_request',
      `leaseMs must be an integer from ${minLeaseMs} to ${maxLeaseMs} (milliseconds).`,
    );
  }
  return leaseMs;
}

/** The slot a session's events fall in: the last byte of its id modulo the slot count (as SQL's `get_byte(uuid_send(id), 15) % slots`). */
export function slotOf(sessionId: string, slotCount: number): number {
  return Number.parseInt(sessionId.slice(-2), 16) % slotCount;
}
