export { createGameCatalog } from './game-catalog.js';
export type { GameCatalog } from './game-catalog.js';
export { isRngState, rngFromSeed, rngFromState } from './rng.js';
export type { Rng, RngState } from './rng.js';
export type { GameEvent, GameRules, Upcaster } from './rules.js';
