export type { ConsumerDefinition, ConsumerStart, FeedHandler } from './consumer-types.js';
