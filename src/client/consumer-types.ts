/**
 * The consumer routes' shapes as a client sees them (see client-types.ts: written from the wire
 * contract, not imported from the server).
 */

/** One delivered event, as GET /v1/feed and the consumer routes send it. */
export type FeedEvent = {
  /** `transaction:session:sequence`: unique per event, the key to deduplicate on. */
  position: string;
  sessionId: string;
  sequence: number;
  /** The session's previous event that the consumer's filter delivers (0: none). */
  previousSequence: number;
  eventId: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  clientTime: string | null;
  serverTime: string;
  hash: string;
};

/** Where a new consumer starts: `beginning`, `now`, or after a delivered position. */
export type ConsumerStart = 'beginning' | 'now' | (string & Record<never, never>);

export type ConsumerDefinition = {
  /** Only these event types (null or absent: every type). */
  types?: readonly string[] | null;
  /** 1 to 256 (default 16): how many members may share it. */
  slots?: number;
  /** Where it starts when it is created by this call (default `beginning`). */
  start?: ConsumerStart;
};

export type ConsumerSlotState = {
  slot: number;
  checkpoint: string;
  owner: string | null;
  epoch: number;
  leaseExpiresAt: string | null;
};

export type ConsumerInfo = {
  name: string;
  types: string[] | null;
  slots: number;
  createdAt: string;
  updatedAt: string;
  slotStates: ConsumerSlotState[];
  members: { member: string; joinedAt: string; expiresAt: string }[];
};

export type ConsumerMembership = {
  member: string;
  slotCount: number;
  slots: { slot: number; epoch: number; checkpoint: string }[];
  leaseMs: number;
  expiresAt: string;
};

export type ReceivedEvents = {
  events: FeedEvent[];
  /** The slots read, with their epochs: what `checkpoint` names. */
  slots: { slot: number; epoch: number }[];
  /** What to checkpoint once `events` are handled; null: nothing was read. */
  through: string | null;
  /** Committed events wait behind an open transaction: receive again soon. */
  held: boolean;
};

export type ConsumerOptions = ConsumerDefinition & {
  /** This process's name in the group (default: one the server makes up at the first join). */
  member?: string;
  /** How long the slots stay this member's without a heartbeat (default 30 s; `run` heartbeats every third). */
  leaseMs?: number;
  /** Events per receive (default 100). */
  batchSize?: number;
  /** How long `run` waits when caught up before it looks again (default 1 s). */
  pollMs?: number;
};

export type RunOptions = {
  /** Stops the run: the batch in hand finishes, the member leaves, `run` resolves. */
  signal?: AbortSignal;
  /** Told of each failure `run` recovers from (a lost lease, a failed heartbeat). */
  onError?: (error: unknown) => void;
};
