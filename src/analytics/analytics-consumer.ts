import type { PoolClient } from '../db/index.js';
import { selectAnalyticsSources } from '../events/index.js';
import type { FeedEvent } from '../events/index.js';
import { AgateError } from '../errors/index.js';
import type { ConsumerDefinition } from '../feed/index.js';
import type { GameCatalog } from '../game/index.js';
import { insertAnalyticsRows } from './analytics-events.queries.js';
import { analyticsRow } from './analytics-row.js';

export const analyticsConsumerName = 'agate.analytics';

/**
 * Writes one analytics.events row per delivered event, in the caller's transaction (the one that
 * then writes the consumer's checkpoint, as agate_app in the tenant's context): two statements
 * per batch, the sources (sessions and exact times) and one multi-row insert.
 */
export async function writeAnalyticsRows(
  tx: PoolClient,
  games: GameCatalog,
  events: readonly FeedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const sources = await selectAnalyticsSources(tx, events);
  const rows = events.map((event) => {
    const source = sources.get(`${event.sessionId}:${event.sequence}`);
    if (source === undefined) {
      throw new AgateError(
        'internal',
        `Event ${event.sequence} of session ${event.sessionId} was delivered but is not in the tenant's log; the batch is not written and will be retried. Check that the feed and the log agree (agate replay --verify).`,
      );
    }
    return analyticsRow(games, event, source);
  });
  await insertAnalyticsRows(tx, rows);
}

/**
 * agate's own consumer that keeps analytics.events (ADR 0023): every event type, transactional,
 * so each event's row is written exactly once with the checkpoint that passes it.
 */
export function analyticsConsumer(games: GameCatalog): ConsumerDefinition {
  return {
    name: analyticsConsumerName,
    types: null,
    mode: 'transactional',
    handle: (tx, events) => writeAnalyticsRows(tx, games, events),
  };
}
