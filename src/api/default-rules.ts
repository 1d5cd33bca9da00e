import { AgateError } from '../errors/index.js';
import type { GameCatalog } from '../game/index.js';

/** The game a session plays when the request names none: the only one this server runs. */
export function defaultRules(games: GameCatalog): string {
  const names = [...new Set(games.list().map((g) => g.name))];
  const only = names[0];
  if (names.length !== 1 || only === undefined) {
    throw new AgateError(
      'invalid_request',
      `rules is required: this server runs ${names.join(', ')}; name one.`,
    );
  }
  return only;
}
