import type { Pool } from '../db/index.js';
import type { EventTypeCatalog } from './event-types.js';
import type { Limits } from './limits.js';
import type { SessionRulesCache } from './session-rules.js';

/** What every event-store operation needs; built once by `createEventStore`. */
export type StoreDeps = {
  pool: Pool;
  catalog: EventTypeCatalog;
  limits: Limits;
  sessionRules: SessionRulesCache;
};
