import type { Redis } from 'ioredis';
import type { TenantRole } from '../db/index.js';
import { checkRef, getSession } from '../events/index.js';
import { replaySession } from '../../replay/index.js';
import type { ReplayDeps } from '../../replay/index.js';
import type { CacheHealth } from './cache-health.js';
import { fetchHotState, writeHotState } from './hot-state.js';
import type { HotState } from './hot-state.js';

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
