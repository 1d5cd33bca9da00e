import { createHmac } from 'node:crypto';

/**
 * The seed the server records for `eventId` in the session whose secret is `secret` (ADR 0013):
 * the first 16 bytes of HMAC-SHA256(secret, the event id's 16 bytes), as hex. Pure, so the
 * determinism harness (agate/testing) draws seeds exactly as the store does.
 */
export function deriveEventSeed(secret: Buffer, eventId: string): string {
  return createHmac('sha256', secret)
    .update(Buffer.from(eventId.replace(/-/g, ''), 'hex'))
    .digest()
    .subarray(0, 16)
    .toString('hex');
}
