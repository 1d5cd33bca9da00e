import { uuidv7 } from 'uuidv7';
import { isUuid } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { findJsonProblem } from '../events/index.js';
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

function invalid(message: string): AgateError {
  return new AgateError('invalid_request', message);
}

function findRules(games: GameCatalog, recorded: RecordedSession): GameRules {
  const version = recorded.rulesVersion ?? games.eventTypes.latestRulesVersion(recorded.rules);
  const rules = version === undefined ? undefined : games.find(recorded.rules, version);
  if (rules === undefined) {
    const named = recorded.rulesVersion === undefined ? '' : ` v${recorded.rulesVersion}`;
    throw new AgateError(
      'unknown_rules',
      `No rules named "${String(recorded.rules)}"${named} are registered; import it with a build of agate that registers them.`,
    );
  }
  return rules;
}

function checkSeed(seed: unknown): string {
  if (
    typeof seed !== 'string' ||
    seed.length === 0 ||
    seed.length > 256 ||
    findJsonProblem(seed, 1) !== undefined
  ) {
    throw invalid('seed must be the recorded seed: a non-empty string of at most 256 characters.');
  }
  return seed;
}

function checkConfig(rules: GameRules, config: unknown, limits: Limits): Record<string, unknown> {
  const problem =
    typeof config !== 'object' || config === null || Array.isArray(config)
      ? 'config must be a JSON object'
      : findJsonProblem(config, limits.maxJsonDepth, 'config');
  if (problem !== undefined) throw invalid(`${problem}.`);
  if (Buffer.byteLength(JSON.stringify(config)) > limits.maxEventBytes) {
    throw new AgateError(
      'payload_too_large',
      `config is over ${limits.maxEventBytes} bytes of JSON; make it smaller.`,
    );
  }
  const parsed = rules.eventTypes.configSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['config', ...(issue?.path.map(String) ?? [])].join('.');
    throw invalid(
      `${where}: ${issue?.message ?? 'is not valid'} (${rules.name} v${rules.version}).`,
    );
  }
  return parsed.data;
}

/**
 * Checks a recorded session's own fields with the rules `createSession` applies (known rules,
 * a storable seed, a config the rules' schema accepts, UUIDs), and fills in the defaults.
 */
export function checkSessionIdentity(
  games: GameCatalog,
  recorded: RecordedSession,
  limits: Limits,
): SessionIdentity {
  if (recorded.id !== undefined && !isUuid(recorded.id)) {
    throw invalid('id must be a UUID (or leave it out to get a UUIDv7).');
  }
  if (recorded.playerId !== undefined && !isUuid(recorded.playerId)) {
    throw invalid('playerId must be a UUID of a player of this tenant.');
  }
  const rules = findRules(games, recorded);
  return {
    id: recorded.id?.toLowerCase() ?? uuidv7(),
    rules,
    seed: checkSeed(recorded.seed),
    config: checkConfig(rules, recorded.config ?? {}, limits),
    playerId: recorded.playerId?.toLowerCase() ?? null,
  };
}
