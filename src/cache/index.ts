export { createCacheHealth } from './cache-health.js';
export type { CacheHealth } from './cache-health.js';
export {
  hotStateKey,
  leaderboardBuildKey,
  leaderboardBuiltKey,
  leaderboardKey,
} from './cache-keys.js';
export { currentState } from './current-state.js';
export type { CurrentState, CurrentStateInput } from './current-state.js';
export { listEndedSessions } from './ended-sessions.js';
export type { LeaderboardQuery, RejectedSession, VerifiedScore } from './ended-sessions.js';
export { hotStateConsumer, hotStateConsumerName, updateHotState } from './hot-state-consumer.js';
export type { HotStateUpdate } from './hot-state-consumer.js';
export { fetchHotState, hotStateTtlSeconds, readHotState, writeHotState } from './hot-state.js';
export type {
  HotState,
  HotStateRef,
  HotStateWrite,
  HotStateWriteOptions,
  HotStateWriteResult,
} from './hot-state.js';
export { maxLeaderboardLimit, readLeaderboard, submitVerifiedScore } from './leaderboard.js';
export type { LeaderboardEntry, ReadLeaderboardInput, SubmitResult } from './leaderboard.js';
export { leaderboardsConsumer, leaderboardsConsumerName } from './leaderboards-consumer.js';
export { rebuildLeaderboard } from './rebuild-leaderboard.js';
export type { RebuildResult } from './rebuild-leaderboard.js';
export { createRedis, isUsable, whenReady } from './redis-client.js';
export type { RedisClientOptions } from './redis-client.js';
export { verifyScore } from './verify-score.js';
export type { ScoreRejection, ScoreVerdict } from './verify-score.js';
