import { archiveGateV1 } from './archive-gate/index.js';
import { createGameCatalog } from './game-catalog.js';

/**
 * archive-gate alone: the catalog agate runs when no configuration file lists games (the CLI
 * builds it with `loadGameCatalog`); a session replays with the rules version pinned at its creation.
 */
export const defaultGames = createGameCatalog([archiveGateV1]);
