import type { Redis } from 'ioredis';
import { requireTenantId } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import type { CacheHealth } from './cache-health.js';
import { leaderboardBuiltKey, leaderboardKey } from './cache-keys.js';
import { byRank, listEndedSessions, scoreSessions } from './ended-sessions.js';
import type { LeaderboardQuery, VerifiedScore } from './ended-sessions.js';
import { rebuildLeaderboard } from './rebuild-leaderboard.js';
import type { RebuildResult } from './rebuild-leaderboard.js';
import { tryRedis } from './redis-client.js';
import { verifyScore } from './verify-score.js';
import type { ScoreRejection } from './verify-score.js';

export type SubmitResult =
  | {
      accepted: true;
      score: number;
      /** False when Redis failed (counted): submit again later, or let a rebuild pick it up. */
      stored: boolean;
    }
  | { accepted: false; reason: ScoreRejection };

export type LeaderboardEntry = { sessionId: string; score: number; rank: number };
export type ReadLeaderboardInput = LeaderboardQuery & { limit: number };

export const maxLeaderboardLimit = 1_000;

/**
 * The only writer of a leaderboard entry: takes the score an ended session's events earn, by a
 * verified replay from genesis (so a score planted in the hot state or a snapshot never gets in),
 * and adds it to the tenant's board for the session's rules. Idempotent. Throws
 * `session_not_found`; a Redis failure is counted and reported as `stored: false`.
 */
export async function submitVerifiedScore(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
  ref: { tenantId: string; sessionId: string },
): Promise<SubmitResult> {
  const verdict = await verifyScore(deps, ref);
  if (!verdict.accepted) return { accepted: false, reason: verdict.reason };
  const board = leaderboardKey(ref.tenantId, verdict.rules);
  const added = await tryRedis(redis, health, (r) =>
    r.zadd(board, verdict.score, verdict.sessionId),
  );
  return { accepted: true, score: verdict.score, stored: added.ok };
}

function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxLeaderboardLimit) {
    throw new AgateError(
      'invalid_request',
      `limit must be an integer from 1 to ${maxLeaderboardLimit}; page through a larger board.`,
    );
  }
  return limit;
}

function ranked(scores: readonly VerifiedScore[], limit: number): LeaderboardEntry[] {
  return [...scores]
    .sort(byRank)
    .slice(0, limit)
    .map((s, i) => ({ ...s, rank: i + 1 }));
}

function fromReply(reply: readonly string[]): LeaderboardEntry[] {
  const entries: LeaderboardEntry[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    entries.push({ sessionId: reply[i] as string, score: Number(reply[i + 1]), rank: i / 2 + 1 });
  }
  return entries;
}

/** Without Redis: every ended session replayed from genesis with verify, nothing cached. */
async function rankFromDatabase(
  deps: ReplayDeps,
  query: LeaderboardQuery,
  limit: number,
): Promise<LeaderboardEntry[]> {
  const ids = await listEndedSessions(deps, query);
  return ranked((await scoreSessions(deps, query.tenantId, ids)).scores, limit);
}

// One rebuild per board at a time in this process; concurrent readers wait for it.
const rebuilding = new WeakMap<Redis, Map<string, Promise<RebuildResult>>>();

function rebuildOnce(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
  query: LeaderboardQuery,
): Promise<RebuildResult> {
  const running = rebuilding.get(redis) ?? new Map<string, Promise<RebuildResult>>();
  rebuilding.set(redis, running);
  const key = leaderboardKey(query.tenantId, query.rules);
  const existing = running.get(key);
  if (existing !== undefined) return existing;
  const started = rebuildLeaderboard(deps, redis, health, query).finally(() => running.delete(key));
  running.set(key, started);
  return started;
}

/**
 * The board's top `limit` entries, highest score first (ties: session id descending), ranks from
 * 1. A board that is missing or was never fully built (Redis flushed, key deleted) is rebuilt
 * first; an empty board has no set, so it is rebuilt on each read (one query, no replay unless
 * sessions were rejected). With `redis` null or down, the ranking is computed from PostgreSQL by
 * a verified replay of every ended session, without caching: slow, but the same answer.
 */
export async function readLeaderboard(
  deps: ReplayDeps,
  redis: Redis | null,
  health: CacheHealth,
  input: ReadLeaderboardInput,
): Promise<LeaderboardEntry[]> {
  const query = { tenantId: requireTenantId(input.tenantId), rules: input.rules };
  const limit = checkLimit(input.limit);
  if (redis === null) return rankFromDatabase(deps, query, limit);
  const board = leaderboardKey(query.tenantId, query.rules);
  const built = leaderboardBuiltKey(query.tenantId, query.rules);
  const present = await tryRedis(redis, health, (r) => r.exists(built, board));
  if (!present.ok) return rankFromDatabase(deps, query, limit);
  if (present.value === 2) {
    health.hits += 1;
  } else {
    health.misses += 1;
    const rebuilt = await rebuildOnce(deps, redis, health, query);
    if (!rebuilt.built) return ranked(rebuilt.scores, limit);
  }
  const top = await tryRedis(redis, health, (r) => r.zrevrange(board, 0, limit - 1, 'WITHSCORES'));
  return top.ok ? fromReply(top.value) : rankFromDatabase(deps, query, limit);
}
