import { AgateError } from '../errors/index.js';

type PgErrorLike = { code?: unknown; constraint?: unknown; cause?: unknown };

/** The driver's error, found through wrappers (Drizzle wraps it in a "Failed query" error). */
export function driverError(error: unknown): PgErrorLike | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const candidate = current as PgErrorLike;
    if (typeof candidate.code === 'string') return candidate;
    current = candidate.cause;
  }
  return undefined;
}

function sqlState(error: unknown): string | undefined {
  const code = driverError(error)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The DETAIL of a PostgreSQL error (agate's own SQLSTATEs put a placement there). */
function detailOf(error: unknown): string {
  const detail = (driverError(error) as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' ? detail : 'unknown';
}

/** The constraint a PostgreSQL error names, if any. */
export function violatedConstraint(error: unknown): string | undefined {
  const constraint = driverError(error instanceof AgateError ? error.cause : error)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/**
 * The one place PostgreSQL errors become agate errors, by SQLSTATE. Anything unexpected stays
 * `internal`, with the original as `cause`.
 */
export function fromPgError(error: unknown): AgateError {
  if (error instanceof AgateError) return error;
  const state = sqlState(error);
  const driver = driverError(error);
  const original =
    driver instanceof Error
      ? driver.message
      : error instanceof Error
        ? error.message
        : String(error);
  switch (state) {
    case 'AG001':
      return new AgateError('append_only', `${original}.`, { cause: error });
    case 'AG002':
      return new AgateError(
        'session_busy',
        'This transaction wrote before it appended, and a newer transaction appended to the session meanwhile: the feed would deliver the events before their predecessors. Roll back and retry with the append as the first write of the transaction (or in a transaction of its own).',
        { cause: error },
      );
    case 'AG004':
      // `deleted`: the fence of `agate tenants delete`, whose tenant lives nowhere any more.
      if (detailOf(error) === 'deleted') {
        return new AgateError(
          'tenant_not_found',
          'This tenant is being deleted by its operator (agate tenants delete); its writes are refused and nothing was stored.',
          { cause: error },
        );
      }
      return new AgateError(
        'tenant_moving',
        `This tenant has moved to placement ${detailOf(error)}; retry the same request (the new placement takes it; appends with the same event ids are idempotent).`,
        { cause: error, details: { placement: detailOf(error), moved: true } },
      );
    case 'AG005':
      return new AgateError(
        'tenant_moving',
        `This tenant is being moved to placement ${detailOf(error)} and its writes are held for the switch; nothing was stored. Retry the same request after Retry-After (appends with the same event ids are idempotent).`,
        { cause: error, details: { placement: detailOf(error), moved: false } },
      );
    case '55P03':
      return new AgateError(
        'session_busy',
        'The session is locked by another writer for longer than the lock timeout; retry the same batch (same event ids), it is idempotent.',
        { cause: error },
      );
    case '40P01':
    case '40001':
      return new AgateError(
        'unavailable',
        `The database aborted this transaction to resolve a conflict with another one (${original}); nothing of it was stored. Retry the same request: appends with the same event ids are idempotent.`,
        { cause: error },
      );
    case '57014':
      return new AgateError(
        'timeout',
        'The database cancelled the statement after the statement timeout; retry, and if it persists check the database load.',
        { cause: error },
      );
    case '22P05':
    case '22021':
      return new AgateError(
        'invalid_event',
        'The payload has text PostgreSQL cannot store (such as \\u0000); remove it and retry.',
        { cause: error },
      );
    case '42501':
      return new AgateError('forbidden', `The database refused the operation: ${original}.`, {
        cause: error,
      });
    case '53300':
    case '57P01':
    case '57P03':
      return new AgateError(
        'unavailable',
        `The database is not accepting this work right now (${original}); retry with backoff.`,
        { cause: error },
      );
    default:
      if (state?.startsWith('08') === true || isConnectionError(error)) {
        return new AgateError(
          'unavailable',
          `The database connection failed (${original}); check DATABASE_URL and that PostgreSQL is running, then retry.`,
          { cause: error },
        );
      }
      return new AgateError('internal', `Unexpected database error: ${original}`, {
        cause: error,
      });
  }
}

function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (
    code !== undefined &&
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EPIPE', 'ETIMEDOUT'].includes(code)
  ) {
    return true;
  }
  return (
    error instanceof Error &&
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
      error.message,
    )
  );
}

/**
 * True when `error` (or the PostgreSQL error an AgateError carries) says the server could not be
 * reached or would not take the work: a lost or refused connection, a shutdown, too many clients;
 * not a conflict between transactions, which the same server reports while it answers.
 */
export function isConnectionFailure(error: unknown): boolean {
  const original = error instanceof AgateError ? error.cause : error;
  const state = sqlState(original);
  if (
    state !== undefined &&
    (state.startsWith('08') || ['53300', '57P01', '57P03'].includes(state))
  )
    return true;
  return isConnectionError(original);
}
