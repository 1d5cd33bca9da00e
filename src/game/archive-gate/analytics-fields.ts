import type { AnalyticsFields, AnalyticsValue } from '../rules.js';

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * The day a request belongs to, from its id (`d<day>-r<n>`, as the rules draw them), or null
 * for an id the rules never drew: it is refused when folded, and analysts see it as such.
 */
function requestDay(requestId: unknown): number | null {
  const match =
    typeof requestId === 'string' ? /^d([1-9][0-9]{0,8})-r[1-9][0-9]*$/.exec(requestId) : null;
  return match?.[1] === undefined ? null : Number(match[1]);
}

function requestFields(data: Record<string, unknown>): Record<string, AnalyticsValue> {
  return { requestId: text(data.requestId), day: requestDay(data.requestId) };
}

/**
 * What archive-gate declares for analytics, from each event's data alone (upcast to the newest
 * version: a v1 `approved: true` decision reads as `decision: 'approve'`). Whether a decision
 * was correct depends on the hidden `malicious` flag in the state, not on the event, so it is not
 * here: the rules see no state when they declare fields. `day.ended` carries only its seed,
 * which tells an analyst nothing, and `day.started` nothing at all.
 */
export const gateAnalyticsFields: Readonly<Record<string, AnalyticsFields>> = {
  'request.decided': (data) => ({ ...requestFields(data), decision: text(data.decision) }),
  'request.investigated': requestFields,
  'defense.purchased': (data) => ({ defense: text(data.defense) }),
  'session.ended': (data) => ({ reason: text(data.reason) }),
};
