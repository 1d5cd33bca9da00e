export { createServer, defaultBodyLimit, defaultRequestTimeoutMs } from './create-server.js';
export type { ServerOptions } from './create-server.js';
export { toProblem } from './problem.js';
export type { Problem, ProblemCode } from './problem.js';
export { feedEventJson } from './routes/feed/index.js';
export type { FeedEventJson } from './routes/feed/index.js';
