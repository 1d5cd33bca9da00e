import type { Redis } from 'ioredis';
import type { CacheHealth } from '../cache/index.js';
import { AgateError } from '../errors/index.js';
import type { Pool } from '../db/index.js';
import type { BatchJudge, JudgeRequest, PreparedEvent } from '../events/index.js';
import type { GameCatalog, GameRules, Verdict } from '../game/index.js';
import { chainLink } from '../hashing/index.js';
import { stateHash } from '../../replay/index.js';
import type { Folder } from '../../replay/index.js';
import { createRecentStates } from './recent-states.js';
import type { RecentStates } from './recent-states.js';
import { stateBefore } from './state-before.js';
import type { StateSource, StateSources } from './state-before.js';

export type BatchJudgeOptions = {
  pool: Pool;
  games: GameCatalog;
  /** The Redis hot state, read when this process holds no recent state of the session. */
  redis?: { client: Redis; health: CacheHealth } | null;
  /** How many sessions' recent states this process keeps (default 10,000; 0 keeps none). */
  recentStates?: number | RecentStates;
  /** Told where each judged batch's starting state came from (benchmarks, metrics). */
  onJudged?: (source: StateSource) => void;
};

function rulesFor(games: GameCatalog, request: JudgeRequest): GameRules {
  const rules = games.find(request.rules.rules, request.rules.rulesVersion);
  if (rules === undefined) {
    throw new AgateError(
      'unknown_rules',
      `Session ${request.sessionId} plays ${request.rules.rules} v${request.rules.rulesVersion}, which this server does not know; run a version of agate that registers those rules.`,
    );
  }
  return rules;
}

/** Folds the batch onto the state before it, each event with the seed it is stored with. */
function judgeEvents(folder: Folder, events: readonly PreparedEvent[]): Verdict[] {
  return events.map((event) => {
    const sequence = folder.sequence + 1;
    const head = folder.chainHead;
    const hash =
      head === null
        ? undefined
        : chainLink(head, sequence, Buffer.from(event.contentHash, 'hex')).toString('hex');
    const { eventId, type, version, data } = event;
    return folder.judge({ sequence, eventId, type, version, data, hash });
  });
}

/**
 * The judge that `createAgate` gives its store: the state before the batch from the cheapest
 * source that is provably current (`stateBefore`), the batch folded onto it in memory with the
 * rules' own fold (upcasts, per-event seeds, chain links), and, once the store says the batch
 * was stored right after that state, the state after it kept for the next batch.
 */
export function createBatchJudge(options: BatchJudgeOptions): BatchJudge {
  const recent =
    typeof options.recentStates === 'object'
      ? options.recentStates
      : createRecentStates(options.recentStates);
  const sources: StateSources = {
    pool: options.pool,
    games: options.games,
    recent,
    redis: options.redis ?? null,
  };
  return async (request) => {
    const rules = rulesFor(options.games, request);
    const ref = { tenantId: request.tenantId, sessionId: request.sessionId, rules };
    const before = await stateBefore(sources, ref, request.after);
    options.onJudged?.(before.source);
    const { folder } = before;
    const after = folder.sequence;
    const verdicts = judgeEvents(folder, request.events);
    const { state, chainHead } = folder;
    return {
      after,
      verdicts,
      stateHash: stateHash(state),
      keep: () =>
        recent.set(request.tenantId, request.sessionId, {
          sequence: folder.sequence,
          chainHash: chainHead === null ? null : chainHead.toString('hex'),
          state,
        }),
    };
  };
}
