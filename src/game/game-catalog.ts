import { AgateError } from '../errors/index.js';
import { createEventTypeCatalog } from './event-types.js';
import type { EventTypeCatalog } from './event-types.js';
import type { GameRules } from './rules.js';

/** Every game (rules name and version) this process can run and replay. */
export type GameCatalog = {
  find(name: string, version: number): GameRules | undefined;
  /** What the event store validates appends with. */
  readonly eventTypes: EventTypeCatalog;
  list(): readonly GameRules[];
};

export function createGameCatalog(games: readonly GameRules[]): GameCatalog {
  const byKey = new Map<string, GameRules>();
  for (const game of games) {
    if (game.eventTypes.rules !== game.name || game.eventTypes.rulesVersion !== game.version) {
      throw new AgateError(
        'invalid_request',
        `Rules ${game.name} v${game.version} carry event types of ${game.eventTypes.rules} v${game.eventTypes.rulesVersion}; define them with the same name and version.`,
      );
    }
    byKey.set(`${game.name}@${game.version}`, game);
  }
  return {
    find: (name, version) => byKey.get(`${name}@${version}`),
    eventTypes: createEventTypeCatalog(games.map((g) => g.eventTypes)),
    list: () => [...byKey.values()],
  };
}
