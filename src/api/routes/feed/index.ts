export { registerFeedRoutes } from './feed-routes.js';
export { defaultFeedStreamOptions } from './feed-stream.js';
export type { FeedStreamOptions, OpenStreams } from './feed-stream.js';
