export { checkFixtures, recordFixture } from '../fixtures/index.js';
export type {
  CheckpointDifference,
  FixtureVerdict,
  RecordFixtureInput,
} from '../fixtures/index.js';
export { foldEqualsReplay } from './fold-equals-replay.js';
export { foldInFreshProcess, freshProcessAgrees } from './fresh-process-agrees.js';
export type { FreshProcessInput } from './fresh-process-agrees.js';
export { generatedSessions, storedSession } from './generated-session.js';
export type {
  EventInput,
  GeneratedSession,
  PropertyInput,
  StoredSession,
} from './generated-session.js';
export {
  DEFAULT_DETERMINISM_SEED,
  determinismProperties,
  proveDeterminism,
} from './prove-determinism.js';
export type { DeterminismOptions, DeterminismProperty } from './prove-determinism.js';
export { rejectionsNeverThrow } from './rejections-never-throw.js';
export { notJsonAt, stateSurvivesJson } from './state-survives-json.js';
