import type { AnalyticsSource, FeedEvent } from '../events/index.js';
import { AgateError } from '../errors/index.js';
import type { AnalyticsValue, GameCatalog } from '../game/index.js';
import { upcastEvent } from '../../replay/index.js';

/** One row of analytics.events, as the consumer writes it and the API reads it. */
export type AnalyticsRow = {
  tenantId: string;
  sessionId: string;
  sequence: number;
  eventId: string;
  type: string;
  version: number;
  /** RFC 3339 in UTC with microseconds, exactly the log's. */
  serverTime: string;
  /** The client's instant as stored (`storedClientTime`'s form), or null. */
  clientTime: string | null;
  playerId: string | null;
  rules: string;
  rulesVersion: number;
  /** What the session's rules declare for the event's type (`{}` when they declare nothing). */
  fields: Record<string, AnalyticsValue>;
};

function isAnalyticsValue(value: unknown): value is AnalyticsValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function fieldsOf(
  games: GameCatalog,
  event: FeedEvent,
  source: AnalyticsSource,
): Record<string, AnalyticsValue> {
  const rules = games.find(source.rules, source.rulesVersion);
  const declare = rules?.analyticsFields?.[event.type];
  if (rules === undefined || declare === undefined) return {};
  const where = `${source.rules} v${source.rulesVersion}'s analyticsFields for ${event.type} (session ${event.sessionId}, sequence ${event.sequence})`;
  let fields: Record<string, unknown>;
  try {
    const { data } = upcastEvent(rules, {
      sequence: event.sequence,
      type: event.type,
      version: event.version,
      data: event.data,
    });
    fields = declare(data);
  } catch (error) {
    throw new AgateError(
      'internal',
      `${where} threw: ${error instanceof Error ? error.message : String(error)}. Declared fields must be total over every stored event; fix the rules, and the consumer retries the batch.`,
      { cause: error },
    );
  }
  for (const [name, value] of Object.entries(fields)) {
    if (!isAnalyticsValue(value)) {
      throw new AgateError(
        'internal',
        `${where} returned ${name} = ${typeof value === 'number' ? String(value) : `a value of type ${typeof value}`}; each field must be a string, a finite number, a boolean or null. Fix the rules, and the consumer retries the batch.`,
      );
    }
  }
  return fields as Record<string, AnalyticsValue>;
}

/** The row of one delivered event, with its session's source. Pure. */
export function analyticsRow(
  games: GameCatalog,
  event: FeedEvent,
  source: AnalyticsSource,
): AnalyticsRow {
  return {
    tenantId: event.tenantId,
    sessionId: event.sessionId,
    sequence: event.sequence,
    eventId: event.eventId,
    type: event.type,
    version: event.version,
    serverTime: source.serverTime,
    clientTime: event.clientTime,
    playerId: source.playerId,
    rules: source.rules,
    rulesVersion: source.rulesVersion,
    fields: fieldsOf(games, event, source),
  };
}
