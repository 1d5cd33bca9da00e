import { isUuid, requireTenantId, withTenant } from '../db/index.js';
import type { PoolClient, TenantRole } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { feedStart } from './feed-position.js';
import { checkFeedTypes } from './feed-types.js';
import type { FeedPosition } from './feed-position.js';
import { selectFeedPage } from './feed.queries.js';
import type { FeedPage, FeedPageInput } from './feed.queries.js';
import type { StoreDeps } from './store-deps.js';
import { selectEventTransaction } from './tenant-move.queries.js';

export type ReadFeedInput = {
  tenantId: string;
  role?: TenantRole;
  /** Default: the start of the feed. */
  after?: FeedPosition;
  /** 1 to 1,000 (default 100). */
  limit?: number;
  /** Only these event types (1 to 50 names); omitted or null: every type. */
  types?: readonly string[] | null;
  sessionId?: string | null;
  slots?: { count: number; owned: readonly number[] } | null;
};

export const maxFeedPage = 1_000;
function checkSlots(slots: ReadFeedInput['slots']): FeedPageInput['slots'] {
  if (slots === undefined || slots === null) return null;
  const { count, owned } = slots;
  if (
    !Number.isSafeInteger(count) ||
    count < 1 ||
    count > 256 ||
    owned.length === 0 ||
    !owned.every((s) => Number.isSafeInteger(s) && s >= 0 && s < count)
  ) {
    throw new AgateError('invalid_request', 'slots must name 1 to 256 slots below their count.');
  }
  return { count, owned: [...owned] };
}

/**
 * `after` in this placement's feed: a position that names an event is that event's position
 * here. The same after a move (ADR 0034): the target's order is the source's but its transaction
 * ids are its own, so a cursor a consumer kept from the source resumes at its event, neither
 * before (repeats) nor after (skips). A position that names no event (the start, `from=now`)
 * is taken as it is.
 */
async function placedPosition(
  tx: PoolClient,
  tenantId: string,
  after: FeedPosition,
): Promise<FeedPosition> {
  if (after.sequence < 1) return after;
  const transactionId = await selectEventTransaction(tx, {
    tenantId,
    sessionId: after.sessionId,
    sequence: after.sequence,
  });
  return transactionId === null ? after : { ...after, transactionId };
}

/**
 * The next page of the tenant's feed after `after` (ADR 0021): committed events only, never one
 * skipped. One statement in a tenant transaction, so it is safe behind a transaction-mode pooler.
 */
export async function readFeed(
  deps: Pick<StoreDeps, 'pool'>,
  input: ReadFeedInput,
): Promise<FeedPage> {
  const tenantId = requireTenantId(input.tenantId);
  const limit = input.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxFeedPage) {
    throw new AgateError('invalid_request', `limit must be an integer from 1 to ${maxFeedPage}.`);
  }
  const sessionId = input.sessionId ?? null;
  if (sessionId !== null && !isUuid(sessionId)) {
    throw new AgateError('invalid_request', 'session must be a session id (a UUID).');
  }
  const page = {
    after: input.after ?? feedStart,
    limit,
    types: checkFeedTypes(input.types, 'types'),
    sessionId: sessionId?.toLowerCase() ?? null,
    slots: checkSlots(input.slots),
  };
  const { events, held } = await withTenant(deps.pool, { tenantId, role: input.role }, async (tx) =>
    selectFeedPage(tx, { ...page, after: await placedPosition(tx, tenantId, page.after) }),
  );
  return { events, held };
}
