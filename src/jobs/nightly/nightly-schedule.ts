// The nightly schedule is one setting for the whole deployment (admin.nightly_state.schedule),
// not whatever the last worker to start happened to have. Invariants: the first worker stores
// its schedule; a worker with another one keeps the stored schedule and says so at error level,
// naming both, unless it is told to replace it; the BullMQ scheduler always gets the stored one.
import { withMaintenance } from '../../db/index.js';
import type { Pool } from '../../db/index.js';
import type { QueueConnection } from '../queue/index.js';
import { defaultNightlyPattern, registerNightlySchedule } from './nightly-queue.js';

export type ScheduleOutcome = 'stored' | 'same' | 'kept' | 'replaced';

export type ScheduleDecision = {
  /** The schedule in force after the decision. */
  pattern: string;
  /** The one stored before (null: none yet). */
  stored: string | null;
  /** The one this worker asked for (null: no preference, AGATE_NIGHTLY_CRON unset). */
  wanted: string | null;
  outcome: ScheduleOutcome;
};

type ScheduleLogger = {
  error(details: object, message: string): void;
  info(details: object, message: string): void;
};

/** Compares `wanted` with the stored schedule under the row lock, and stores it where it may. */
export async function settleNightlySchedule(
  pool: Pool,
  wanted: string | null,
  options: { replace?: boolean } = {},
): Promise<ScheduleDecision> {
  return withMaintenance(pool, async (tx) => {
    const r = await tx.query<{ schedule: string | null }>(
      `SELECT schedule FROM admin.nightly_state WHERE id = 'nightly' FOR UPDATE`,
    );
    const stored = r.rows[0]?.schedule ?? null;
    const decide = (pattern: string, outcome: ScheduleOutcome): ScheduleDecision => ({
      pattern,
      stored,
      wanted,
      outcome,
    });
    if (stored !== null && (wanted === null || wanted === stored)) return decide(stored, 'same');
    if (stored !== null && options.replace !== true) return decide(stored, 'kept');
    const pattern = wanted ?? defaultNightlyPattern;
    await tx.query(
      `UPDATE admin.nightly_state SET schedule = $1, updated_at = now() WHERE id = 'nightly'`,
      [pattern],
    );
    return decide(pattern, stored === null ? 'stored' : 'replaced');
  });
}

/** What a worker says about its decision, and at which level. */
export function describeSchedule(decision: ScheduleDecision): {
  level: 'error' | 'info';
  message: string;
} {
  const { pattern, stored, wanted } = decision;
  switch (decision.outcome) {
    case 'kept':
      return {
        level: 'error',
        message: `AGATE_NIGHTLY_CRON is "${wanted}" but the nightly schedule in force is "${stored}"; keeping "${stored}". Start a worker with --replace-schedule to make "${wanted}" the schedule of every worker.`,
      };
    case 'replaced':
      return {
        level: 'info',
        message: `The nightly schedule "${stored}" was replaced by "${pattern}" (--replace-schedule).`,
      };
    case 'stored':
      return { level: 'info', message: `The nightly schedule is now "${pattern}" UTC.` };
    case 'same':
      return { level: 'info', message: `The nightly schedule in force is "${pattern}" UTC.` };
  }
}

/** Settles the schedule, logs the decision and registers the schedule in force with BullMQ. */
export async function applyNightlySchedule(
  pool: Pool,
  connection: QueueConnection,
  wanted: string | null,
  options: { replace?: boolean; logger: ScheduleLogger },
): Promise<ScheduleDecision> {
  const decision = await settleNightlySchedule(pool, wanted, options);
  const { level, message } = describeSchedule(decision);
  const details = { stored: decision.stored, wanted: decision.wanted, pattern: decision.pattern };
  if (level === 'error') options.logger.error(details, message);
  else options.logger.info(details, message);
  await registerNightlySchedule(connection, decision.pattern);
  return decision;
}
