import type { sessions } from '../db/index.js';

export type SessionStatus = 'active' | 'ended';

export type Session = {
  id: string;
  tenantId: string;
  playerId: string | null;
  rules: string;
  rulesVersion: number;
  seed: string;
  config: Record<string, unknown>;
  status: SessionStatus;
  lastSequence: number;
  /** Hex sha256 of the newest event's chain hash (the chain's root while the session is empty). */
  headHash: string;
  firstEventAt: Date | null;
  lastEventAt: Date | null;
  endedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The credential that created the session (`WrittenBy`, or `legacy`). */
  writtenBy: string;
};

export function toSession(row: typeof sessions.$inferSelect): Session {
  return {
    id: row.id,
    tenantId: row.tenantId,
    playerId: row.playerId,
    rules: row.rules,
    rulesVersion: row.rulesVersion,
    seed: row.seed,
    config: row.config as Record<string, unknown>,
    status: row.status as SessionStatus,
    lastSequence: row.lastSequence,
    headHash: row.headHash.toString('hex'),
    firstEventAt: row.firstEventAt,
    lastEventAt: row.lastEventAt,
    endedAt: row.endedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    writtenBy: row.writtenBy,
  };
}
