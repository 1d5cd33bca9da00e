// agate's main entry (`import { ... } from 'agate'`): the runtime, the rules interface and its
// helpers, errors, replay and verify, and the loader of the configured games. By name, so that
// what a studio can rely on is this list.
export { createAgate } from './runtime/index.js';
export type { Agate, AgateConsumersOptions, AgateOptions } from './runtime/index.js';
export { createPool, migrate, schemaStatus } from './db/index.js';
export type { MigrationReport, Pool, PoolOptions, SchemaStatus } from './db/index.js';
export { createServer } from './api/index.js';
export type { ServerOptions } from './api/index.js';
export {
  archiveGateV1,
  createGameCatalog,
  defineEventTypes,
  isRngState,
  rngFromSeed,
  rngFromState,
  sessionEndedV1,
} from './game/index.js';
export type {
  AnalyticsFields,
  AnalyticsValue,
  ConfigSchema,
  EventDataSchema,
  EventDefinitionsOf,
  EventInputOf,
  EventTypeCatalog,
  EventTypeDefinition,
  EventTypeRegistry,
  GameCatalog,
  GameEvent,
  GameRules,
  Rng,
  RngState,
  Upcaster,
  Verdict,
} from './game/index.js';
export { AgateError, errorCodes, isAgateError } from './errors/index.js';
export type { ErrorCode } from './errors/index.js';
export { canonicalJson } from './hashing/index.js';
export type {
  AppendManyBatch,
  AppendManyInput,
  AppendManyResult,
  SessionAppendResult,
} from './events/index.js';
export {
  createFolder,
  foldAll,
  replaySession,
  stateHash,
  upcastEvent,
  visitStates,
} from '../replay/index.js';
export type {
  Divergence,
  DivergenceKind,
  Folder,
  FoldSession,
  FoldStart,
  ReplayDeps,
  ReplayEvent,
  ReplayOptions,
  ReplayResult,
  StateVisitor,
  TraceStep,
  VisitedState,
} from '../replay/index.js';
export { configFileNames, findConfigFile, loadGameCatalog } from './config/index.js';
export type { LoadedCatalog, LoadedGame, LoadGameCatalogOptions } from './config/index.js';
