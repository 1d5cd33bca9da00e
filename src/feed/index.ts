export type { ConsumerDefinition, ConsumerStart, FeedHandler } from './consumer-types.js';
export { feedHorizon } from './feed-horizon.js';
export type { FeedHolder, FeedHorizon } from './feed-horizon.js';
