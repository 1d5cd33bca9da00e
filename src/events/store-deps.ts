import type { Pool } from '../db/index.js';
import type { EventTypeCatalog } from '../game/index.js';
import type { BatchJudge } from './batch-judge.js';
import type { Limits } from './limits.js';
import type { SessionQueue } from './session-queue.js';
import type { SessionRulesCache } from './session-rules.js';

/** What an append committed, as the work that follows it (snapshots, caches) needs to know. */
export type AppendedBatch = {
  tenantId: string;
  sessionId: string;
  rules: string;
  rulesVersion: number;
  firstSequence: number;
  lastSequence: number;
  /** The event types, in sequence order. */
  types: readonly string[];
};

/**
 * Runs after an append committed, never inside its transaction. It cannot fail the append: an
 * error it throws goes to `onAfterAppendError` (once), the next hook still runs, and work it
 * skipped is redone by the nightly job.
 */
export type AfterAppend = (batch: AppendedBatch) => Promise<void>;

/** What every event-store operation needs; built once by `createEventStore`. */
export type StoreDeps = {
  pool: Pool;
  catalog: EventTypeCatalog;
  limits: Limits;
  sessionRules: SessionRulesCache;
  /** Run in order after each committed append. */
  afterAppend: readonly AfterAppend[];
  onAfterAppendError?: (error: unknown, batch: AppendedBatch) => void;
  /** Judges batches appended with `verdicts`; without it such an append is refused. */
  judge?: BatchJudge;
  /** One judged append per session at a time in this process. */
  judging: SessionQueue;
};
