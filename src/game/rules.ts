import type { EventTypeRegistry } from './event-types.js';
import type { Rng } from './rng.js';

/** An event as the rules see it: upcast to the newest version of its type. */
export type GameEvent = {
  sequence: number;
  type: string;
  version: number;
  data: Record<string, unknown>;
};

/** Turns data of `type` at `fromVersion` into data of version `fromVersion + 1`. Pure. */
export type Upcaster = {
  type: string;
  fromVersion: number;
  upcast(data: Record<string, unknown>): Record<string, unknown>;
};

/** A value analysts can filter and group on: flat, no nesting, no floats required. */
export type AnalyticsValue = string | number | boolean | null;

/**
 * What the rules declare about one event type for analytics (ADR 0023): the fields of
 * `analytics.events.fields`, computed from the event's data upcast to the newest version of its
 * type. Pure, like the rest of the rules; it sees only the event, never the state.
 */
export type AnalyticsFields = (data: Record<string, unknown>) => Record<string, AnalyticsValue>;

/**
 * The rules' verdict on one folded event: accepted, or rejected with one of the rules' own
 * reason codes (`GameRules.rejectReasons`). A rejected event is still stored and folded (the
 * state counts it); the verdict only says what the fold made of it.
 */
export type Verdict = { accepted: true } | { accepted: false; reason: string };

/**
 * A game, as agate replays it. Everything here is pure and deterministic: no clock, no
 * Math.random, no I/O, no floats in state, no iteration order that depends on object keys.
 * Randomness comes only from the `rng` that `evolve` receives (the event's own stream, seeded
 * by its recorded seed, or null for types that consume none) and from the session stream the
 * state itself carries.
 */
export type GameRules<S = unknown, E extends EventTypeRegistry = EventTypeRegistry> = {
  readonly name: string;
  readonly version: number;
  /** Every event type and version the rules accept (newest versions are what evolve sees). */
  readonly eventTypes: E;
  readonly upcasters: readonly Upcaster[];
  /** Event types that end one of the game's own days: the snapshotter saves state after each. */
  readonly dayBoundaryTypes: readonly string[];
  /** `config` was validated (and defaulted) by `eventTypes.configSchema` when the session was created. */
  initialState(seed: string, config: Record<string, unknown>): S;
  /**
   * Folds one event. Never throws for an event the store accepted: an action the rules refuse
   * is folded deterministically (counted as rejected in the state).
   */
  evolve(state: S, event: GameEvent, rng: Rng | null): S;
  /**
   * Every reason code `verdict` can give, documented for game servers (`GET /v1/games` lists
   * them). Lower-case snake_case words.
   */
  readonly rejectReasons: readonly string[];
  /**
   * What folding `event` into `before` made of it, judged from the two states alone (so a
   * verdict is as deterministic as the fold): `after` is `evolve(before, event, rng)`. Pure and
   * cheap; it never throws.
   */
  verdict(before: S, after: S, event: GameEvent): Verdict;
  /** The session's score, an integer, as leaderboards rank it. */
  score(state: S): number;
  /**
   * Per event type, the fields analysts get in `analytics.events` (a type without an entry gets
   * `{}`). Optional: a game without it still gets a row per event with the common columns.
   */
  readonly analyticsFields?: Readonly<Record<string, AnalyticsFields>>;
};
