import fc from 'fast-check';
import type { FoldSession, ReplayEvent } from '../../replay/index.js';
import { asStored } from '../fixtures/index.js';
import type { GameRules } from '../game/index.js';
import { deriveEventSeed } from '../hashing/index.js';

/** An event as a game server sends it: the harness adds ids, sequences and seeds. */
export type EventInput = { type: string; version: number; data: Record<string, unknown> };

/** What every property takes: the rules and generators of what a game server would send. */
export type PropertyInput = {
  rules: GameRules;
  /** A session's events in order (use `size: 'max'` for long sessions: fast-check keeps arrays short otherwise). */
  events: fc.Arbitrary<readonly EventInput[]>;
  /** Session configs (default `{}`); each must pass the rules' config schema. */
  config?: fc.Arbitrary<Record<string, unknown>>;
};

/** One generated session before the harness turns it into stored events. */
export type GeneratedSession = {
  seed: string;
  /** The session's seed secret: per-event seeds are derived from it as the server derives them. */
  secret: Uint8Array;
  config: Record<string, unknown>;
  events: readonly EventInput[];
};

/** A generated session as the store would hold it. */
export type StoredSession = {
  session: FoldSession;
  events: ReplayEvent[];
  /** Generated events the store would have refused, and so left out. */
  refused: number;
  /** Why the first of them was refused (null: none was). */
  firstRefusal: string | null;
};

const PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000000';

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

/** Sessions of `input`: a seed (the server's 128-bit hex or any string a creator gives), a secret, a config, events. */
export function generatedSessions(input: PropertyInput): fc.Arbitrary<GeneratedSession> {
  return fc.record({
    seed: fc.oneof(hex(16), fc.string({ minLength: 1, maxLength: 40 })),
    secret: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    config: input.config ?? fc.constant({}),
    events: input.events,
  });
}

/** The event id of the event at `sequence`: a fixed UUIDv7-shaped id, so seeds follow from the secret alone. */
function eventIdAt(sequence: number): string {
  return `00000000-0000-7000-8000-${sequence.toString(16).padStart(12, '0')}`;
}

/**
 * What the store keeps of a generated session: its config through the rules' config schema (a
 * config the schema refuses throws, since the generator is wrong), and the events it would accept,
 * numbered from 1 and stored as the store stores them. An event of a type that consumes
 * randomness and carries no seed gets the seed the server would derive for it (one the generator
 * gives is kept, as recorded history keeps its seeds); an event the store
 * would refuse (unknown type or version, data its schema refuses) is left out; the session ends at
 * its first `session.ended`.
 */
export function storedSession(rules: GameRules, generated: GeneratedSession): StoredSession {
  const config = rules.eventTypes.configSchema.safeParse(generated.config);
  if (!config.success) {
    throw new Error(
      `The config arbitrary gave a config that ${rules.name} v${rules.version} refuses (${config.error.message}); generate configs its config schema accepts.`,
    );
  }
  const secret = Buffer.from(generated.secret);
  const events: ReplayEvent[] = [];
  let refused = 0;
  let firstRefusal: string | null = null;
  for (const input of generated.events) {
    const sequence = events.length + 1;
    const eventId = eventIdAt(sequence);
    const stored = asStored(rules, input, deriveEventSeed(secret, eventId));
    if (!stored.ok) {
      refused += 1;
      firstRefusal ??= stored.problem;
      continue;
    }
    events.push({ sequence, eventId, ...stored.event });
    if (input.type === 'session.ended') break;
  }
  const session: FoldSession = {
    sessionId: PLACEHOLDER_ID,
    tenantId: PLACEHOLDER_ID,
    seed: generated.seed,
    rules: rules.name,
    rulesVersion: rules.version,
    config: JSON.parse(JSON.stringify(config.data)) as Record<string, unknown>,
  };
  return { session, events, refused, firstRefusal };
}

/** How an event is named in failure messages. */
export function describeEvent(event: ReplayEvent): string {
  return `event ${event.sequence} (${event.type} v${event.version} ${JSON.stringify(event.data)})`;
}
