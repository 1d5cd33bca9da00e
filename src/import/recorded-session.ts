import type { NewEvent } from '../events/index.js';

/** One recorded session to import: what its client sent, from its seed to its last event. */
export type RecordedSession = {
  seed: string;
  rules: string;
  /** Defaults to the newest version of `rules` this process knows. */
  rulesVersion?: number;
  config?: Record<string, unknown>;
  playerId?: string;
  /** The new session's id; defaults to a new UUIDv7. */
  id?: string;
  events: readonly NewEvent[];
  /** Where the session came from (such as `line 7`), named by errors; default `sessions[i]`. */
  source?: string;
};

/** A recorded session stored as a new session: all of its events, or (on failure) none. */
export type ImportedSession = {
  /** The position of the recorded session in the input, from 0. */
  index: number;
  sessionId: string;
  events: number;
  snapshots: number;
  /** Hex chain hash of the last event, as `game.sessions.head_hash` holds it. */
  headHash: string;
};
