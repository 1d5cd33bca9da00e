import { archiveGateV1 } from './archive-gate/index.js';
import { createGameCatalog } from './game-catalog.js';

/** The games this build of agate runs: a session replays with the rules version pinned at its creation. */
export const defaultGames = createGameCatalog([archiveGateV1]);
