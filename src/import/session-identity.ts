import { uuidv7 } from 'uuidv7';
import { AgateError } from '../errors/index.js';
import { checkSessionInput } from '../events/index.js';
import type { Limits } from '../events/index.js';
import type { GameCatalog, GameRules } from '../game/index.js';
import type { RecordedSession } from './recorded-session.js';

/** The session row's own fields, checked as `createSession` checks them. */
export type SessionIdentity = {
  id: string;
  rules: GameRules;
  seed: string;
  config: Record<string, unknown>;
  playerId: string | null;
};

/**
 * Checks a recorded session's own fields with `createSession`'s own checks (known rules, a
 * storable seed, a config the rules' schema accepts, UUIDs), and fills in the defaults. Unlike a
 * new session, a recorded one must carry its seed.
 */
export function checkSessionIdentity(
  games: GameCatalog,
  recorded: RecordedSession,
  limits: Limits,
): SessionIdentity {
  if (typeof recorded.seed !== 'string') {
    throw new AgateError(
      'invalid_request',
      'seed must be the recorded seed: a non-empty string of at most 256 characters.',
    );
  }
  const { rulesVersion, config } = checkSessionInput(games.eventTypes, limits, recorded);
  const rules = games.find(recorded.rules, rulesVersion);
  if (rules === undefined) {
    throw new AgateError(
      'unknown_rules',
      `No rules named "${recorded.rules}" v${rulesVersion} are registered; import it with a build of agate that registers them.`,
    );
  }
  return {
    id: recorded.id?.toLowerCase() ?? uuidv7(),
    rules,
    seed: recorded.seed,
    config,
    playerId: recorded.playerId?.toLowerCase() ?? null,
  };
}
