export { registerFeedRoutes } from './feed-routes.js';
export { defaultFeedStreamOptions } from './feed-stream.js';
export type { FeedStreamOptions, OpenStreams } from './feed-stream.js';
export { feedEventJson } from './feed-json.js';
export type { FeedEventJson } from './feed-json.js';
