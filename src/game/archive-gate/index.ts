export { archiveGateV1, initialGateState } from './archive-gate.rules.js';
export { breachOddsBp } from './end-day.js';
export { DEFAULT_SKILL_BP, drawEventSeed, planNextEvents } from './bot.js';
export { gateConfigSchema } from './config.js';
export type { GateConfig } from './config.js';
export { gateEventTypes, gateUpcasters, upcastToLatest } from './event-types.js';
export type { GateEventInput } from './event-types.js';
export { applyGateEvent, foldGateEvents, playSession, rejectableEvent } from './play-session.js';
export type { PlayOptions } from './play-session.js';
export { REJECT_REASONS } from './state.js';
export type {
  Decision,
  DefenseName,
  GateDefenses,
  GatePhase,
  GateRequest,
  GateState,
  GateStats,
  RejectReason,
  RequestStatus,
} from './state.js';
