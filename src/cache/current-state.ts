import type { Redis } from 'ioredis';
import type { TenantRole } from '../db/index.js';
import { checkRef, getSession } from '../events/index.js';
import type { AfterAppend } from '../events/index.js';
import { replaySession } from '../../replay/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import { recordError } from './cache-health.js';
import type { CacheHealth } from './cache-health.js';
import { fetchHotState, writeHotState } from './hot-state.js';
import type { HotState } from './hot-state.js';
import { isUsable } from './redis-client.js';

export type CurrentStateInput = { tenantId: string; sessionId: string; role?: TenantRole };
export type CurrentState = HotState & { source: 'cache' | 'replay' };

/**
 * The session's state at its last sequence. Serves the hot entry only when its sequence is the
 * session's last sequence as PostgreSQL reports it; otherwise replays (snapshot and tail) and
 * refills the cache. With `redis` null or down it still answers, from the replay (without Redis
 * there is nothing to compare the session row with, so it is not read on its own: the replay
 * reads it). Throws what the store and replay throw (`session_not_found`, ...), never a cache
 * failure.
 */
export async function currentState(
  deps: ReplayDeps,
  redis: Redis | null,
  health: CacheHealth,
  input: CurrentStateInput,
): Promise<CurrentState> {
  const { tenantId, sessionId } = checkRef(input);
  const ref = { tenantId, sessionId, role: input.role };
  if (redis !== null) {
    const [session, cached] = await Promise.all([
      getSession(deps, ref),
      fetchHotState(redis, health, { tenantId, sessionId }),
    ]);
    if (cached !== undefined && cached.sequence === session.lastSequence) {
      health.hits += 1;
      return { ...cached, source: 'cache' };
    }
  }
  health.misses += 1;
  const replayed = await replaySession(deps, ref);
  const fresh: HotState = {
    sequence: replayed.sequence,
    stateHash: replayed.stateHash,
    state: replayed.state,
  };
  if (redis !== null) {
    await writeHotState(
      redis,
      health,
      { tenantId, sessionId, ...fresh },
      { replaceSameSequence: true },
    );
  }
  return { ...fresh, source: 'replay' };
}

/**
 * After-append work that keeps the hot state at the batch's last sequence: replays the session
 * to it (snapshot and tail) and writes it if newer. Never throws: failures are counted, and a
 * reader replays on a miss. While Redis is known to be down it skips the replay.
 */
export function hotStateAfterAppend(
  deps: ReplayDeps,
  redis: Redis,
  health: CacheHealth,
): AfterAppend {
  return async (batch) => {
    if (!isUsable(redis)) {
      recordError(health, new Error(`Redis is ${redis.status}; hot state not updated.`));
      return;
    }
    try {
      const replayed = await replaySession(deps, {
        tenantId: batch.tenantId,
        sessionId: batch.sessionId,
        to: batch.lastSequence,
      });
      await writeHotState(redis, health, {
        tenantId: batch.tenantId,
        sessionId: batch.sessionId,
        sequence: replayed.sequence,
        stateHash: replayed.stateHash,
        state: replayed.state,
      });
    } catch (error) {
      recordError(health, error);
    }
  };
}
