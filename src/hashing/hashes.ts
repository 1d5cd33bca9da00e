import { createHash, hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export type Sha256 = Buffer;

export function sha256(...parts: (string | Uint8Array)[]): Sha256 {
  // One-shot hashing is cheaper than a Hash object for the single-part case, the common one.
  if (parts.length === 1 && parts[0] !== undefined) return hash('sha256', parts[0], 'buffer');
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return hasher.digest();
}

/** sha256 of the canonical JSON of a value: state hashes and content hashes use this. */
export function hashCanonical(value: unknown): Sha256 {
  return hash('sha256', canonicalJson(value), 'buffer');
}

export type EventContent = {
  eventId: string;
  type: string;
  version: number;
  data: unknown;
};

/** The content hash of one event: what the client sent, as stored (event ids in lower case). */
export function eventContentHash(event: EventContent): Sha256 {
  return hashCanonical({
    eventId: event.eventId,
    type: event.type,
    version: event.version,
    data: event.data,
  });
}

export type SessionIdentity = {
  sessionId: string;
  tenantId: string;
  seed: string;
  rules: string;
  rulesVersion: number;
};

/** The root of a session's hash chain: the "previous hash" of its first event. */
export function sessionRootHash(identity: SessionIdentity): Sha256 {
  return hashCanonical({
    sessionId: identity.sessionId,
    tenantId: identity.tenantId,
    seed: identity.seed,
    rules: identity.rules,
    rulesVersion: identity.rulesVersion,
  });
}

/**
 * One link of the chain: sha256(previous || sequence as int8 big-endian || content hash). The
 * append function computes the same in SQL (`sha256(prev || int8send(seq) || content)`).
 */
export function chainLink(previous: Sha256, sequence: number, contentHash: Sha256): Sha256 {
  const input = Buffer.allocUnsafe(previous.length + 8 + contentHash.length);
  previous.copy(input, 0);
  input.writeBigInt64BE(BigInt(sequence), previous.length);
  contentHash.copy(input, previous.length + 8);
  return hash('sha256', input, 'buffer');
}
