import { AgateError } from '../src/errors/index.js';
import { rngFromSeed } from '../src/game/index.js';
import type { GameEvent, GameRules, Rng, Verdict } from '../src/game/index.js';
import {
  chainLink,
  eventContentHash,
  hashCanonical,
  sessionRootHash,
} from '../src/hashing/index.js';
import type { SessionIdentity } from '../src/hashing/index.js';
import type { DivergenceKind } from './divergence.js';
import { upcastEvent } from './upcast.js';

/** A stored event as replay needs it. `hash` is checked against the chain when present. */
export type ReplayEvent = {
  sequence: number;
  eventId: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
  hash?: string;
};

export type FoldSession = SessionIdentity & { config: Record<string, unknown> };

export type FoldStart = {
  sequence: number;
  state: unknown;
  /** The chain hash at `sequence`, if known: links after it are checked from there. */
  previousHash?: Buffer;
};

export type Folder = {
  readonly sequence: number;
  readonly state: unknown;
  /** The chain hash of the last applied event (null when it cannot be known). */
  readonly chainHead: Buffer | null;
  apply(event: ReplayEvent): void;
  /** `apply`, and the rules' verdict on the event (from the states before and after it). */
  judge(event: ReplayEvent): Verdict;
};

export function integrityError(
  kind: DivergenceKind,
  sequence: number,
  message: string,
): AgateError {
  return new AgateError(
    'integrity_violation',
    `${message} Run a replay with verify to see every divergence.`,
    {
      details: { kind, sequence },
    },
  );
}

export function stateHash(state: unknown): string {
  return hashCanonical(state).toString('hex');
}

type TypeFacts = { latest: number; consumesRandomness: boolean };

/** What the fold needs per event type and version, looked up once per folder, not per event. */
function typeFactsOf(rules: GameRules): (type: string, version: number) => TypeFacts {
  const cache = new Map<string, Map<number, TypeFacts>>();
  return (type, version) => {
    let byVersion = cache.get(type);
    if (byVersion === undefined) cache.set(type, (byVersion = new Map<number, TypeFacts>()));
    let facts = byVersion.get(version);
    if (facts === undefined) {
      const latest = Math.max(version, rules.eventTypes.latestVersion(type) ?? version);
      const consumes = rules.eventTypes.find(type, latest)?.consumesRandomness === true;
      byVersion.set(version, (facts = { latest, consumesRandomness: consumes }));
    }
    return facts;
  };
}

function eventRng(facts: TypeFacts, data: Record<string, unknown>): Rng | null {
  const seed = data.seed;
  return facts.consumesRandomness && typeof seed === 'string' && seed.length > 0
    ? rngFromSeed(seed)
    : null;
}

/**
 * A pure fold over a session's events, from its initial state or from a snapshot. Each event
 * must carry the next sequence (a gap or a duplicate throws `integrity_violation` naming it);
 * when the chain head is known, each event's hash must extend it. Events are upcast to the
 * newest version of their type before `evolve`; types that consume randomness get their own
 * stream, seeded from the recorded seed.
 */
export function createFolder(rules: GameRules, session: FoldSession, start?: FoldStart): Folder {
  const factsOf = typeFactsOf(rules);
  let sequence = start?.sequence ?? 0;
  let state = start === undefined ? rules.initialState(session.seed, session.config) : start.state;
  let head: Buffer | null =
    start === undefined ? sessionRootHash(session) : (start.previousHash ?? null);
  const step = (event: ReplayEvent): GameEvent => {
    if (event.sequence !== sequence + 1) {
      const kind = event.sequence <= sequence ? 'duplicate' : 'gap';
      throw integrityError(
        kind,
        sequence + 1,
        `Sequence ${event.sequence} follows ${sequence}: the session's events have a ${kind === 'gap' ? 'gap' : 'duplicate'} at ${sequence + 1}.`,
      );
    }
    if (head !== null && event.hash !== undefined) {
      const link = chainLink(head, event.sequence, eventContentHash(event));
      if (link.toString('hex') !== event.hash) {
        throw integrityError(
          'chain',
          event.sequence,
          `Event ${event.sequence} (${event.type}, ${event.eventId}) does not match the hash chain: it was changed after it was stored.`,
        );
      }
      head = link;
    } else {
      head = null;
    }
    const facts = factsOf(event.type, event.version);
    const current = facts.latest === event.version ? event : upcastEvent(rules, event);
    state = rules.evolve(state, current, eventRng(facts, current.data));
    sequence = event.sequence;
    return current;
  };
  return {
    get sequence() {
      return sequence;
    },
    get state() {
      return state;
    },
    get chainHead() {
      return head;
    },
    apply(event) {
      step(event);
    },
    judge(event) {
      const before = state;
      const current = step(event);
      return rules.verdict(before, state, current);
    },
  };
}

/** Folds a whole list in memory: the pure core that property tests compare against. */
export function foldAll(
  rules: GameRules,
  session: FoldSession,
  events: Iterable<ReplayEvent>,
  start?: FoldStart,
): { sequence: number; state: unknown; stateHash: string } {
  const folder = createFolder(rules, session, start);
  for (const event of events) folder.apply(event);
  return { sequence: folder.sequence, state: folder.state, stateHash: stateHash(folder.state) };
}
