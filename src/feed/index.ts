export { checkContinuity, unknownSessions } from './check-continuity.js';
export type { ContinuityCheck, SessionLink } from './check-continuity.js';
export { commitCheckpoint } from './commit-checkpoint.js';
export type { CommitCheckpointInput } from './commit-checkpoint.js';
export type { ConsumerRef } from './consumer-admin-input.js';
export { checkConsumerName, reservedPrefix } from './consumer-name.js';
export type {
  ConsumerDefinition,
  ConsumerInfo,
  ConsumerStart,
  ConsumerStatus,
  FeedHandler,
  SlotStatus,
} from './consumer-types.js';
export { deleteConsumer } from './delete-consumer.js';
export { defaultSlots, ensureConsumer } from './ensure-consumer.js';
export type { EnsureConsumerInput } from './ensure-consumer.js';
export { createFeedWake, feedChannel, feedWakeHook } from './feed-wake.js';
export type { FeedWake, FeedWakeOptions } from './feed-wake.js';
export { joinConsumer } from './join-consumer.js';
export type { JoinInput } from './join-consumer.js';
export { leaveConsumer } from './leave-consumer.js';
export { getConsumer, listConsumers } from './list-consumers.js';
export { maxLeaseMs, minLeaseMs, slotOf } from './membership.js';
export type { MemberSlot, Membership } from './membership.js';
export { receiveEvents } from './receive-events.js';
export type { ReceivedEvents } from './receive-events.js';
export { resetConsumer } from './reset-consumer.js';
export { startConsumer } from './start-consumer.js';
export type {
  ConsumerHandle,
  ConsumerHandleStatus,
  ConsumerState,
  StartConsumerOptions,
} from './start-consumer.js';
