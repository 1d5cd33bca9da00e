export {
  analyticsConsumer,
  analyticsConsumerName,
  writeAnalyticsRows,
} from './analytics-consumer.js';
export { analyticsPageQuery } from './analytics-events.queries.js';
export type { AnalyticsKey, AnalyticsPageFilter } from './analytics-events.queries.js';
export { formatAnalyticsCursor, parseAnalyticsCursor } from './analytics-cursor.js';
export { analyticsRow } from './analytics-row.js';
export type { AnalyticsRow } from './analytics-row.js';
export {
  analyticsFilter,
  maxAnalyticsPage,
  readAnalyticsEvents,
  streamAnalyticsEvents,
} from './read-analytics-events.js';
export type { AnalyticsPage, ReadAnalyticsInput } from './read-analytics-events.js';
