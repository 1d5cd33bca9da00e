import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { requireTenantId } from '../db/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import type { CacheHealth } from './cache-health.js';
import { leaderboardBuildKey, leaderboardBuiltKey, leaderboardKey } from './cache-keys.js';
import { listEndedSessions, scoreSessions } from './ended-sessions.js';
import type { LeaderboardQuery, RejectedSession, VerifiedScore } from './ended-sessions.js';
import { tryRedis } from './redis-client.js';

export type RebuildResult = {
  /** False when Redis failed: the scores were computed but the set was not replaced. */
  built: boolean;
  scores: VerifiedScore[];
  rejected: RejectedSession[];
};

const zaddChunk = 500;
/** A build key left by a process that died mid-build expires on its own. */
const buildKeyTtlSeconds = 3_600;

/*
 * Puts the build in place and marks the board built, atomically. RENAME carries the build key's
 * TTL over, hence PERSIST. No build key means no verified session: the board is emptied.
 */
const swapScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('PERSIST', KEYS[2])
else
  redis.call('DEL', KEYS[2])
end
redis.call('SET', KEYS[3], ARGV[1])
return 1
`;

async function writeBuild(redis: Redis, buildKey: string, scores: readonly VerifiedScore[]) {
  for (let at = 0; at < scores.length; at += zaddChunk) {
    const members = scores.slice(at, at + zaddChunk).flatMap((s) => [s.score, s.sessionId]);
    const replies = await redis
      .multi()
      .zadd(buildKey, ...members)
      .expire(buildKey, buildKeyTtlSeconds)
      .exec();
    const failed = replies?.find(([error]) => error !== null)?.[0];
    if (failed) throw failed;
    if (replies === null) throw new Error(`The transaction writing ${buildKey} was aborted.`);
  }
}

async function swapIn(
  redis: Redis,
  query: LeaderboardQuery,
  scores: readonly VerifiedScore[],
): Promise<void> {
  const buildKey = leaderboardBuildKey(query.tenantId, query.rules, randomBytes(8).toString('hex'));
  try {
    await writeBuild(redis, buildKey, scores);
    const board = leaderboardKey(query.tenantId, query.rules);
    const built = leaderboardBuiltKey(query.tenantId, query.rules);
    await redis.eval(swapScript, 3, buildKey, board, built, String(scores.length));
  } catch (error) {
    await redis.del(buildKey).catch(() => undefined);
    throw error;
  }
}

/**
 * Sessions that ended while the build ran may have been submitted to the old set, which the
 * rename replaced; the ones not in the first listing are scored and added now. Returns whether
 * Redis took them.
 */
async function catchUp(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
  query: LeaderboardQuery,
  result: RebuildResult,
): Promise<boolean> {
  const seen = new Set([...result.scores, ...result.rejected].map((s) => s.sessionId));
  const fresh = (await listEndedSessions(deps, query)).filter((id) => !seen.has(id));
  if (fresh.length === 0) return true;
  const late = await scoreSessions(deps, query.tenantId, fresh);
  result.scores.push(...late.scores);
  result.rejected.push(...late.rejected);
  const members = late.scores.flatMap((s) => [s.score, s.sessionId]);
  if (members.length === 0) return true;
  const board = leaderboardKey(query.tenantId, query.rules);
  return (await tryRedis(redis, health, (r) => r.zadd(board, ...members))).ok;
}

/**
 * Rebuilds the tenant's board for these rules from PostgreSQL: scores every ended session by a
 * verified replay from genesis, collects the scores under a build key and renames it into place,
 * so readers see the old board or the new one, never a partial one. PostgreSQL failures are
 * thrown; Redis failures are counted and reported as `built: false`.
 */
export async function rebuildLeaderboard(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
  input: LeaderboardQuery,
): Promise<RebuildResult> {
  const query = { tenantId: requireTenantId(input.tenantId), rules: input.rules };
  const ids = await listEndedSessions(deps, query);
  const result: RebuildResult = {
    built: false,
    ...(await scoreSessions(deps, query.tenantId, ids)),
  };
  const swapped = await tryRedis(redis, health, (r) => swapIn(r, query, result.scores));
  if (!swapped.ok) return result;
  let complete = false;
  try {
    complete = await catchUp(deps, redis, health, query, result);
  } finally {
    // A board that may miss a session must not count as built: the next read rebuilds it.
    if (!complete) {
      await tryRedis(redis, health, (r) => r.del(leaderboardBuiltKey(query.tenantId, query.rules)));
    }
  }
  result.built = complete;
  return result;
}
