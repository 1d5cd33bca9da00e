import { z } from 'zod';
import { isUuid } from '../db/index.js';
import type { Limits } from './limits.js';

// The envelope of one new event, declared once: the zod schema below is what the OpenAPI
// document shows (as NewEvent, and with `eventBatchSchema` the append's events), and
// `checkEnvelope` is the store's check of the same rules over the same bounds. The store runs the
// plain check rather than a zod parse because it runs per event on every append, and a zod parse
// would add 13% to 60% to the shaping (ADR 0010; plain checks on the hot path as in ADR 0012).
//
// Invariants: for JSON input, the schema accepts exactly what the store's shaping accepts when
// data's content and a clientTime string's grammar pass (test/unit/event-envelope.test.ts feeds
// both, and the document, fixed and generated envelopes). Those two are checked after the
// envelope, by `findJsonProblem`, the size limit and `checkClientTime`, in that order, so the
// first problem named stays the same. The library may also pass a Date as clientTime.

/** Characters of an event type, at least and at most. */
export const eventTypeLength = { min: 1, max: 100 } as const;

/** The lowest event version. */
export const minEventVersion = 1;

const clientTimeDescription =
  'RFC 3339 with seconds and a zone (T/Z in either case, up to microseconds), stored as that exact instant or refused (422); read back in UTC as YYYY-MM-DDTHH:MM:SS.sssZ, or six fraction digits when it has microseconds.';

/** A client time as text: the grammar is `checkClientTime`'s, documented here. */
export const clientTimeText = z
  .string()
  .meta({ format: 'date-time', description: clientTimeDescription });

/** What a new event's envelope must be; NewEvent in the OpenAPI document. */
export const eventEnvelopeSchema = z
  .object({
    eventId: z.string().refine(isUuid).optional().meta({
      format: 'uuid',
      description: 'Client-chosen, for idempotent retries; the server mints a UUIDv7 when absent.',
    }),
    // zod's max and JSON Schema's maxLength count code points; the store counts UTF-16 units.
    type: z
      .string()
      .min(eventTypeLength.min)
      .max(eventTypeLength.max)
      .refine((type) => type.length <= eventTypeLength.max)
      .meta({
        description: `At most ${eventTypeLength.max} UTF-16 code units (JavaScript's length: a character outside the BMP counts 2).`,
      }),
    version: z.number().int().min(minEventVersion).optional().meta({
      description: 'Defaults to the newest version the session’s rules define for the type.',
    }),
    data: z.record(z.string(), z.unknown()),
    clientTime: clientTimeText.nullable().optional(),
  })
  .meta({
    id: 'NewEvent',
    description: 'Checked by the store against the session’s registered event types.',
  });

/**
 * The events of one append as the document states them, with this server's limits: the batch
 * size, and each event's data size and depth (which JSON Schema cannot state, so they are said).
 * `item` is what the document shows for each event (default: the envelope; the API shows the
 * typed events of the games it runs).
 */
export function eventBatchSchema(limits: Limits, item: z.ZodType = eventEnvelopeSchema) {
  return z
    .array(item)
    .min(1)
    .max(limits.maxBatchEvents)
    .meta({
      description: `Each event's data is at most ${limits.maxEventBytes} bytes as JSON (413 payload_too_large) and nested at most ${limits.maxJsonDepth} levels (422 invalid_event).`,
    });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One event as a game server sends it: the envelope's type, with a Date allowed as clientTime. */
export type NewEvent = {
  /** Client-chosen UUID for idempotent retries; generated (UUIDv7) when absent. */
  eventId?: string;
  type: string;
  /** Defaults to the newest version the session's rules define for `type`. */
  version?: number;
  data: unknown;
  clientTime?: string | Date | null;
};

/** An envelope that passed `checkEnvelope`; clientTime is still as sent (`checkClientTime`). */
export type CheckedEnvelope = {
  eventId: string | undefined;
  type: string;
  version: number | undefined;
  data: Record<string, unknown>;
  clientTime: unknown;
};

export type EnvelopeCheck =
  { ok: true; envelope: CheckedEnvelope } | { ok: false; problem: string };

function isVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && Number(value) >= minEventVersion;
}

function refused(problem: string): EnvelopeCheck {
  return { ok: false, problem };
}

/**
 * Checks `raw` against the envelope's rules, the fields in the schema's order; the problem is
 * the message after `events[i]: `. Data's content is checked afterwards.
 */
export function checkEnvelope(raw: unknown): EnvelopeCheck {
  if (!isRecord(raw)) return refused('each event must be an object with type and data');
  const { eventId, type, version, data, clientTime } = raw;
  if (eventId !== undefined && !isUuid(eventId)) return refused('eventId must be a UUID');
  if (
    typeof type !== 'string' ||
    type.length < eventTypeLength.min ||
    type.length > eventTypeLength.max
  ) {
    return refused(`type must be a non-empty string of at most ${eventTypeLength.max} characters`);
  }
  if (version !== undefined && !isVersion(version)) {
    return refused('version must be a positive integer');
  }
  if (!isRecord(data)) return refused('data must be a JSON object');
  return { ok: true, envelope: { eventId, type, version, data, clientTime } };
}
