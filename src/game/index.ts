export { createEventTypeCatalog, defineEventTypes, sessionEndedV1 } from './event-types.js';
export type {
  ConfigSchema,
  EventDataSchema,
  EventDefinitionsOf,
  EventInputOf,
  EventTypeCatalog,
  EventTypeDefinition,
  EventTypeRegistry,
} from './event-types.js';
export { createGameCatalog } from './game-catalog.js';
export type { GameCatalog } from './game-catalog.js';
export { isRngState, rngFromSeed, rngFromState } from './rng.js';
export type { Rng, RngState } from './rng.js';
export type {
  AnalyticsFields,
  AnalyticsValue,
  GameEvent,
  GameRules,
  Upcaster,
  Verdict,
} from './rules.js';
export {
  archiveGateV1,
  DEFAULT_SKILL_BP,
  drawEventSeed,
  foldGateEvents,
  gateConfigSchema,
  gateEventTypes,
  planNextEvents,
  playSession,
  REJECT_REASONS,
} from './archive-gate/index.js';
export type {
  GateConfig,
  GateEventInput,
  GateRequest,
  GateState,
  PlayOptions,
  RejectReason,
} from './archive-gate/index.js';
export { defaultGames } from './default-games.js';
