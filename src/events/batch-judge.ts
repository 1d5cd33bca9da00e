import type { Verdict } from '../game/index.js';
import type { PreparedEvent } from './prepare-batch.js';
import type { SessionRules } from './session-rules.js';

/**
 * What an append asks of the rules (ADR 0030): `report` stores the batch as without the field
 * and answers each event's verdict; `refuse` stores nothing when the rules reject any event.
 */
export const verdictModes = ['report', 'refuse'] as const;
export type VerdictMode = (typeof verdictModes)[number];

export type JudgeRequest = {
  tenantId: string;
  sessionId: string;
  rules: SessionRules;
  /** The batch as it will be stored: validated, with the server's seeds. */
  events: readonly PreparedEvent[];
  /** Judge after this sequence (a retry's place in the log); default: the session's last. */
  after?: number;
};

export type JudgedBatch = {
  /** The sequence whose state the batch was judged from. */
  after: number;
  verdicts: Verdict[];
  /** The state hash after the batch, at sequence `after + events.length`. */
  stateHash: string;
  /** Tells the judge the batch was stored right after `after`, so it may remember the state. */
  keep(): void;
};

/**
 * Computes the rules' verdicts on a batch from the session's committed state. The store holds
 * no rules behaviour (it knows registries only), so the runtime gives it one (`createAgate`).
 */
export type BatchJudge = (request: JudgeRequest) => Promise<JudgedBatch>;
