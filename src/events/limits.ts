export type Limits = {
  /** Bytes of one event's data as JSON (default 64 KiB). */
  maxEventBytes: number;
  /** Events in one append call (default 500). */
  maxBatchEvents: number;
  /** Nesting depth of objects and arrays in event data or session config (default 32). */
  maxJsonDepth: number;
  /** How long an append waits for the session row lock before `session_busy` (default 2 s). */
  lockTimeoutMs: number;
  /** Sessions in one `appendMany` request (default 64; one subtransaction each, see game.append_sessions). */
  maxSessionsPerAppend: number;
};

export const defaultLimits: Limits = {
  maxEventBytes: 64 * 1024,
  maxBatchEvents: 500,
  maxJsonDepth: 32,
  lockTimeoutMs: 2_000,
  maxSessionsPerAppend: 64,
};

export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  return { ...defaultLimits, ...overrides };
}
