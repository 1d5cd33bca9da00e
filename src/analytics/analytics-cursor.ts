import { AgateError } from '../errors/index.js';
import type { AnalyticsKey } from './analytics-events.queries.js';

const keyPattern =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(?:\d{3})?Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\|(0|[1-9][0-9]{0,15})$/;

/** The opaque cursor of the page after `key`: base64url of its server time, session and sequence. */
export function formatAnalyticsCursor(key: AnalyticsKey): string {
  return Buffer.from(`${key.serverTime}|${key.sessionId}|${key.sequence}`).toString('base64url');
}

/** Reads a cursor as `next` gave it; `invalid_request` when it is anything else. */
export function parseAnalyticsCursor(cursor: string): AnalyticsKey {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const match = keyPattern.exec(text);
  const sequence = Number(match?.[3]);
  if (
    match?.[1] === undefined ||
    match[2] === undefined ||
    Number.isNaN(Date.parse(match[1])) ||
    !Number.isSafeInteger(sequence)
  ) {
    throw new AgateError(
      'invalid_request',
      'after must be a cursor exactly as a page’s next gave it; leave it out to start from the first row.',
    );
  }
  return { serverTime: match[1], sessionId: match[2], sequence };
}
