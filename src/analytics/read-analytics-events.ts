import type { Pool, TenantRole } from '../db/index.js';
import { isUuid, requireTenantId, withTenant } from '../db/index.js';
import { checkClientTime } from '../events/index.js';
import { AgateError } from '../errors/index.js';
import { selectAnalyticsPage } from './analytics-events.queries.js';
import type { AnalyticsPageFilter } from './analytics-events.queries.js';
import { formatAnalyticsCursor, parseAnalyticsCursor } from './analytics-cursor.js';
import type { AnalyticsRow } from './analytics-row.js';

export type ReadAnalyticsInput = {
  tenantId: string;
  /** Default agate_analyst: tenants read analytics.events read-only. */
  role?: TenantRole;
  sessionId?: string | null;
  playerId?: string | null;
  /** Only these event types (1 to 50 names). */
  types?: readonly string[] | null;
  /** Server time at or after this RFC 3339 instant. */
  from?: string | null;
  /** Server time before this RFC 3339 instant. */
  to?: string | null;
  /** A page's `next`. */
  after?: string | null;
  /** 1 to 1,000 (default 100). */
  limit?: number;
};

export type AnalyticsPage = {
  events: AnalyticsRow[];
  /** The cursor of the next page, or null when this page ended the range. */
  next: string | null;
};

export const maxAnalyticsPage = 1_000;
const maxTypes = 50;

function checkId(value: string | null | undefined, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (!isUuid(value)) throw new AgateError('invalid_request', `${name} must be a UUID.`);
  return value.toLowerCase();
}

function checkTime(value: string | null | undefined, name: string): string | null {
  if (value === undefined || value === null) return null;
  const checked = checkClientTime(value);
  if (!checked.ok) throw new AgateError('invalid_request', `${name} ${checked.problem}`);
  return checked.time;
}

function checkTypes(types: readonly string[] | null | undefined): readonly string[] | null {
  if (types === undefined || types === null) return null;
  const ok =
    types.length >= 1 &&
    types.length <= maxTypes &&
    types.every((t) => t.length >= 1 && t.length <= 100);
  if (!ok) {
    throw new AgateError(
      'invalid_request',
      `type must list 1 to ${maxTypes} event type names of 1 to 100 characters each, separated by commas.`,
    );
  }
  return [...new Set(types)].sort();
}

/** The filter of a request, checked: `invalid_request` naming what is wrong. */
export function analyticsFilter(input: ReadAnalyticsInput): AnalyticsPageFilter {
  const limit = input.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxAnalyticsPage) {
    throw new AgateError(
      'invalid_request',
      `limit must be an integer from 1 to ${maxAnalyticsPage}.`,
    );
  }
  const from = checkTime(input.from, 'from');
  const to = checkTime(input.to, 'to');
  if (from !== null && to !== null && Date.parse(to) < Date.parse(from)) {
    throw new AgateError('invalid_request', 'to must not be before from.');
  }
  return {
    sessionId: checkId(input.sessionId, 'session'),
    playerId: checkId(input.playerId, 'player'),
    types: checkTypes(input.types),
    from,
    to,
    after:
      input.after === undefined || input.after === null ? null : parseAnalyticsCursor(input.after),
    limit,
  };
}

function readPage(pool: Pool, tenantId: string, role: TenantRole, filter: AnalyticsPageFilter) {
  return withTenant(pool, { tenantId, role }, (tx) => selectAnalyticsPage(tx, filter));
}

function nextOf(rows: readonly AnalyticsRow[], limit: number): string | null {
  const last = rows.at(-1);
  return rows.length < limit || last === undefined ? null : formatAnalyticsCursor(last);
}

/** One page of the tenant's analytics rows, in (server time, session, sequence) order. */
export async function readAnalyticsEvents(
  pool: Pool,
  input: ReadAnalyticsInput,
): Promise<AnalyticsPage> {
  const tenantId = requireTenantId(input.tenantId);
  const filter = analyticsFilter(input);
  const events = await readPage(pool, tenantId, input.role ?? 'agate_analyst', filter);
  return { events, next: nextOf(events, filter.limit) };
}

/**
 * Every row of the filtered range, from `after` on, page by page (`limit` rows each, default
 * 1,000), each page in its own short transaction: constant memory, and no transaction held open
 * while the consumer of the stream is slow. Input is checked before the first row.
 */
export function streamAnalyticsEvents(
  pool: Pool,
  input: ReadAnalyticsInput,
): AsyncGenerator<AnalyticsRow> {
  const tenantId = requireTenantId(input.tenantId);
  const first = analyticsFilter({ ...input, limit: input.limit ?? maxAnalyticsPage });
  const role = input.role ?? 'agate_analyst';
  return (async function* () {
    let filter = first;
    for (;;) {
      const rows = await readPage(pool, tenantId, role, filter);
      yield* rows;
      const last = rows.at(-1);
      if (rows.length < filter.limit || last === undefined) return;
      filter = { ...filter, after: last };
    }
  })();
}
