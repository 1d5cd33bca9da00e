import { withTenant } from '../db/index.js';
import { isAgateError } from '../errors/index.js';
import { listEndedSessionIds } from '../events/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { verifyScore } from './verify-score.js';
import type { ScoreRejection } from './verify-score.js';

export type LeaderboardQuery = { tenantId: string; rules: string };
export type VerifiedScore = { sessionId: string; score: number };
export type RejectedSession = { sessionId: string; reason: ScoreRejection | 'not_found' };
export type ScoredSessions = { scores: VerifiedScore[]; rejected: RejectedSession[] };

/** Replays at a time while scoring a tenant's sessions (each holds one pool connection). */
const scoringConcurrency = 4;

/** The tenant's ended sessions of these rules, as `agate_app` under row-level security. */
export async function listEndedSessions(
  deps: ReplayDeps,
  query: LeaderboardQuery,
): Promise<string[]> {
  return withTenant(deps.pool, { tenantId: query.tenantId }, (tx) =>
    listEndedSessionIds(tx, query.rules),
  );
}

/**
 * Scores the sessions by replay from genesis with verify, a few at a time. A session deleted
 * since it was listed is reported as 'not_found'; other failures (unknown rules, PostgreSQL
 * down) are thrown.
 */
export async function scoreSessions(
  deps: ReplayDeps,
  tenantId: string,
  sessionIds: readonly string[],
): Promise<ScoredSessions> {
  const out: ScoredSessions = { scores: [], rejected: [] };
  let next = 0;
  const worker = async () => {
    while (next < sessionIds.length) {
      const sessionId = sessionIds[next++] as string;
      try {
        const verdict = await verifyScore(deps, { tenantId, sessionId });
        if (verdict.accepted) out.scores.push({ sessionId, score: verdict.score });
        else out.rejected.push({ sessionId, reason: verdict.reason });
      } catch (error) {
        if (!isAgateError(error, 'session_not_found')) throw error;
        out.rejected.push({ sessionId, reason: 'not_found' });
      }
    }
  };
  await Promise.all(Array.from({ length: scoringConcurrency }, worker));
  return out;
}

/** Highest score first; equal scores by session id descending, as Redis orders ZREVRANGE. */
export function byRank(a: VerifiedScore, b: VerifiedScore): number {
  if (a.score !== b.score) return b.score - a.score;
  if (a.sessionId === b.sessionId) return 0;
  return a.sessionId < b.sessionId ? 1 : -1;
}
