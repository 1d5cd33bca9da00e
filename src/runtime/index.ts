export { agateConsumers, snapshotsConsumer, snapshotsConsumerName } from './agate-consumers.js';
export type { AgateRedis } from './agate-consumers.js';
export { createAgate } from './create-agate.js';
export type { Agate, AgateOptions } from './create-agate.js';
export { startAgateConsumers } from './start-agate-consumers.js';
export type { AgateConsumersOptions, RunningAgateConsumers } from './start-agate-consumers.js';
