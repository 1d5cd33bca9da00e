import { randomBytes } from 'node:crypto';
import { AgateError } from '../errors/index.js';
import { eventContentHash } from '../hashing/index.js';
import { findJsonProblem } from './check-json.js';
import { checkClientTime } from './client-time.js';
import { checkEnvelope } from './event-envelope.js';
import { newEventId } from './event-id.js';
import type { EventTypeDefinition, EventTypeRegistry } from '../game/index.js';
import type { Limits } from './limits.js';

/** An event shaped and checked without knowing its session's rules yet. */
export type ShapedEvent = {
  eventId: string;
  type: string;
  version: number | undefined;
  data: Record<string, unknown>;
  clientTime: string | null;
  /**
   * Set when agate minted the id for this call: no stored event can carry it, so the append
   * function skips its duplicate probe for this event. Never taken from input.
   */
  minted?: true;
};

/** What the append function receives per event. */
export type PreparedEvent = Omit<ShapedEvent, 'version'> & { version: number; contentHash: string };

function invalid(index: number, message: string): AgateError {
  return new AgateError('invalid_event', `events[${index}]: ${message}.`, { details: { index } });
}

function shapeClientTime(index: number, value: unknown): string | null {
  const checked = checkClientTime(value);
  if (!checked.ok) throw invalid(index, checked.problem);
  return checked.time;
}

function shapeOne(index: number, raw: unknown, limits: Limits): ShapedEvent {
  const checked = checkEnvelope(raw);
  if (!checked.ok) throw invalid(index, checked.problem);
  const { eventId, type, version, data, clientTime } = checked.envelope;
  const problem = findJsonProblem(data, limits.maxJsonDepth);
  if (problem !== undefined) throw invalid(index, problem);
  const bytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
  if (bytes > limits.maxEventBytes) {
    throw new AgateError(
      'payload_too_large',
      `events[${index}]: data is ${bytes} bytes of JSON, over the limit of ${limits.maxEventBytes}; split it or store large blobs elsewhere.`,
      { details: { index, bytes, limit: limits.maxEventBytes } },
    );
  }
  return {
    ...(eventId === undefined
      ? { eventId: newEventId(), minted: true as const }
      : { eventId: eventId.toLowerCase() }),
    type,
    version,
    data,
    clientTime: shapeClientTime(index, clientTime),
  };
}

/**
 * Checks what can be checked without the session's rules: the batch size, each event's envelope,
 * that data is plain storable JSON within the size and depth limits, and that event ids are unique.
 */
export function shapeBatch(events: unknown, limits: Limits): ShapedEvent[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw new AgateError('invalid_request', 'events must be a non-empty array of events.');
  }
  if (events.length > limits.maxBatchEvents) {
    throw new AgateError(
      'batch_too_large',
      `A batch holds at most ${limits.maxBatchEvents} events and this one has ${events.length}; split it into several appends.`,
      { details: { count: events.length, limit: limits.maxBatchEvents } },
    );
  }
  const shaped = events.map((raw, index) => shapeOne(index, raw, limits));
  const seen = new Set<string>();
  shaped.forEach((e, index) => {
    if (seen.has(e.eventId))
      throw invalid(index, `eventId ${e.eventId} appears twice in the batch`);
    seen.add(e.eventId);
  });
  return shaped;
}

/** 128 bits from the CSPRNG: a session's seed when its creator gives none. */
export function drawSeed(): string {
  return randomBytes(16).toString('hex');
}

/** Where the seeds of randomness-consuming events come from (ADR 0013). */
export type SeedPolicy = {
  /** The server's seed for such an event that carries none (`deriveEventSeed` of its session). */
  seedFor: (eventId: string) => string;
  /**
   * True only on the trusted paths that carry recorded history (`agate import`, `fixtures
   * import`): a recorded seed is kept whatever the rules say. Otherwise a seed the client chose
   * is refused (`seed_not_allowed`) unless the type declares `clientMaySupplySeed`.
   */
  recordedSeeds: boolean;
};

function definitionOf(
  registry: EventTypeRegistry,
  event: ShapedEvent,
): EventTypeDefinition | undefined {
  const version = event.version ?? registry.latestVersion(event.type);
  return version === undefined ? undefined : registry.find(event.type, version);
}

/** The ids of the events that will need a server seed: randomness-consuming and seedless. */
export function serverSeedIds(
  registry: EventTypeRegistry,
  events: readonly ShapedEvent[],
): string[] {
  return events
    .filter(
      (e) => definitionOf(registry, e)?.consumesRandomness === true && e.data.seed === undefined,
    )
    .map((e) => e.eventId);
}

function unknownType(registry: EventTypeRegistry, event: ShapedEvent, index: number): AgateError {
  const known = registry.latestVersion(event.type);
  return new AgateError(
    'unknown_event_type',
    known === undefined
      ? `events[${index}]: ${registry.rules} v${registry.rulesVersion} has no event type "${event.type}"; check the type name.`
      : `events[${index}]: ${event.type} has no version ${event.version}; versions 1..${known} exist.`,
    { details: { index, type: event.type, version: event.version ?? null } },
  );
}

function seededData(
  definition: EventTypeDefinition,
  event: ShapedEvent,
  index: number,
  seeds: SeedPolicy,
): Record<string, unknown> {
  if (!definition.consumesRandomness) return event.data;
  if (event.data.seed === undefined) return { ...event.data, seed: seeds.seedFor(event.eventId) };
  if (seeds.recordedSeeds || definition.clientMaySupplySeed === true) return event.data;
  throw new AgateError(
    'seed_not_allowed',
    `events[${index}]: ${event.type} consumes randomness and its rules let only the server draw the seed; send it without data.seed and the server records one.`,
    { details: { index, eventType: event.type } },
  );
}

/**
 * Validates each event against its registered type and version, records the server's seed where
 * the type consumes randomness and the event carries none (refusing a client's seed where the
 * rules do not allow one), and computes the content hash of what will be stored. Throws
 * `unknown_event_type`, `seed_not_allowed` or `invalid_event`; nothing has been written.
 */
export function prepareBatch(
  registry: EventTypeRegistry,
  events: readonly ShapedEvent[],
  seeds: SeedPolicy,
): PreparedEvent[] {
  return events.map((event, index) => {
    const definition = definitionOf(registry, event);
    if (definition === undefined) throw unknownType(registry, event, index);
    if (event.type === 'session.ended' && index !== events.length - 1) {
      throw invalid(index, 'session.ended must be the last event of its batch');
    }
    const parsed = definition.schema.safeParse(seededData(definition, event, index, seeds));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? 'data' : ['data', ...issue.path.map(String)].join('.');
      throw invalid(
        index,
        `${where}: ${issue?.message ?? 'does not match the schema'} (${event.type} v${definition.version})`,
      );
    }
    if (definition.consumesRandomness && typeof parsed.data.seed !== 'string') {
      throw invalid(index, `${event.type} consumes randomness, so data.seed must be a string`);
    }
    const prepared = { ...event, version: definition.version, data: parsed.data };
    return { ...prepared, contentHash: eventContentHash(prepared).toString('hex') };
  });
}
