import { requireTenantId } from '../db/index.js';
import type { Pool } from '../db/index.js';
import { AgateError, isAgateError } from '../errors/index.js';
import { resolveLimits } from '../events/index.js';
import type { Limits } from '../events/index.js';
import type { GameCatalog } from '../game/index.js';
import { prepareRecordedSession } from './prepare-session.js';
import type { PreparedSession, PrepareSettings } from './prepare-session.js';
import type { ImportedSession, RecordedSession } from './recorded-session.js';
import { writeSession } from './write-session.js';

export type ImportSessionsInput = {
  tenantId: string;
  games: GameCatalog;
  sessions: AsyncIterable<RecordedSession> | Iterable<RecordedSession>;
  /** The append path's limits (event size, JSON depth); the batch size does not apply. */
  limits?: Partial<Limits>;
  /** Events one imported session may hold (default 1,000,000); they are held in memory. */
  maxSessionEvents?: number;
  /** Sessions written at once, each in its own transaction on its own connection (default 4). */
  concurrency?: number;
  /** Called as each session commits (they may commit out of input order). */
  onImported?: (session: ImportedSession) => void;
};

const defaults = { maxSessionEvents: 1_000_000, concurrency: 4 };

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new AgateError('invalid_request', `${name} must be a positive integer.`);
  }
  return value;
}

/** A failure of one session, named by where it came from; its own code and details are kept. */
function sessionError(error: unknown, recorded: RecordedSession, index: number): AgateError {
  // Typed input, but a JavaScript caller may pass anything: name it by position then.
  const where = (recorded as RecordedSession | null)?.source ?? `sessions[${index}]`;
  const inner = isAgateError(error)
    ? error
    : new AgateError('internal', error instanceof Error ? error.message : String(error), {
        cause: error,
      });
  return new AgateError(
    inner.code,
    `${where}: ${inner.message} Nothing of this session was stored.`,
    { cause: inner, details: { ...inner.details, sessionIndex: index, source: where } },
  );
}

function importedOf(index: number, session: PreparedSession, snapshots: number): ImportedSession {
  return {
    index,
    sessionId: session.identity.id,
    events: session.events.length,
    snapshots,
    headHash: session.headHash,
  };
}

/**
 * Imports recorded sessions as new sessions of `tenantId`: each validated exactly as appends
 * are, given sequences 1..n and the hash chain `game.append_events` would compute, and written
 * with its snapshots in one transaction (the session row and snapshots as agate_app under
 * row-level security, the events by a COPY into the month partition guarded by the same tenant
 * predicate, see `write-events.ts`): all of a session or nothing of it. Sessions are checked
 * in input order while earlier ones are written. At the first failure no further session is
 * started; the ones under way finish, and the error (an AgateError naming the session's
 * `source`, with `details.sessionIndex`) is thrown after them. Returns the imported sessions in
 * input order.
 */
export async function importSessions(
  pool: Pool,
  input: ImportSessionsInput,
): Promise<ImportedSession[]> {
  const settings: PrepareSettings = {
    tenantId: requireTenantId(input.tenantId),
    limits: resolveLimits(input.limits),
    maxSessionEvents: positive(
      'maxSessionEvents',
      input.maxSessionEvents ?? defaults.maxSessionEvents,
    ),
  };
  const concurrency = positive('concurrency', input.concurrency ?? defaults.concurrency);
  const imported: ImportedSession[] = [];
  const running = new Set<Promise<void>>();
  let failure: AgateError | undefined;
  let index = 0;
  try {
    for await (const recorded of input.sessions) {
      if (failure !== undefined) break;
      const i = index++;
      let prepared: PreparedSession;
      try {
        prepared = prepareRecordedSession(input.games, settings, recorded);
      } catch (error) {
        failure = sessionError(error, recorded, i);
        break;
      }
      while (running.size >= concurrency) await Promise.race(running);
      if (failure !== undefined) break;
      const task: Promise<void> = writeSession(pool, prepared)
        .then((written) => {
          const done = importedOf(i, prepared, written.snapshots);
          imported.push(done);
          input.onImported?.(done);
        })
        .catch((error: unknown) => {
          failure ??= sessionError(error, recorded, i);
        })
        .finally(() => running.delete(task));
      running.add(task);
    }
  } finally {
    // Never return (or throw) with a session's transaction still open.
    await Promise.all(running);
  }
  if (failure !== undefined) throw failure;
  return imported.sort((a, b) => a.index - b.index);
}
