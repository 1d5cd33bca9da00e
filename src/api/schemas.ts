import { z } from 'zod';
import { errorCodes } from '../errors/index.js';
import { clientTimeText } from '../events/index.js';
import { maxRateLimitValue } from '../keys/index.js';

// The shapes of the API, declared once: routes parse their inputs with these, and the OpenAPI
// document at /openapi.json is written from them. Responses are documented, not re-validated:
// response objects are written strict (every field required unless optional, no other fields),
// so a field a route sends but its schema does not declare fails the generated-client test.

export const uuid = z.string().max(100).meta({ format: 'uuid' });
const hash = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .meta({ description: 'sha256, hex' });
export const time = z.string().meta({ format: 'date-time' });
// eslint-disable-next-line no-control-regex -- \u0000 is exactly what is refused
const unstorable = /\u0000|\p{Surrogate}/u;

/**
 * Text PostgreSQL can store: no \u0000 and no lone surrogate (either is a 400 here, not a
 * database error later).
 */
export function storableText(max: number) {
  return z
    .string()
    .max(max)
    .refine((value) => !unstorable.test(value), {
      message: 'must be text without \\u0000 or unpaired surrogates',
    });
}

const digits = /^\d{1,15}$/;
const largestQueryInteger = 999_999_999_999_999;

/** What the document says instead of zod's own rendering, for schemas that parse text. */
export const documentedAs = new Map<z.ZodType, Record<string, unknown>>();

/**
 * Schemas that parse less than they document, because an operation checks the rest itself (the
 * events of an append, which the store checks so that its errors name events[i]): the document
 * shows the mapped schema instead.
 */
export const documentedBy = new WeakMap<z.ZodType, z.ZodType>();

/**
 * An integer in a query string, documented as an integer from `min` to `max`; the digits are
 * checked here, the range by the operation (whose message says what to send).
 */
export function queryIntegerIn(min: number, max = largestQueryInteger) {
  const text = z.string().regex(digits, 'must be a non-negative integer');
  documentedAs.set(text, { type: 'integer', minimum: min, maximum: max });
  return text.transform(Number);
}

/** A non-negative integer in a query string (documented as an integer, not as its digits). */
export const queryInteger = queryIntegerIn(0);

export const queryFlag = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

export const idParams = z.strictObject({ id: uuid });

const detailInteger = z.number().int();

/** What a replay can find wrong with a session (a divergence, or an integrity_violation). */
const divergenceKind = z.enum([
  'chain',
  'missing',
  'gap',
  'duplicate',
  'head',
  'anchor',
  'snapshot',
  'snapshot_corrupt',
]);

/** One event's verdict, as an append with `verdicts` answers it (ADR 0030). */
export const verdictSchema = z
  .union([
    z.strictObject({ accepted: z.literal(true) }),
    z.strictObject({
      accepted: z.literal(false),
      reason: z.string().meta({
        description:
          'The rules’ reason code (GameRules.rejectReasons; docs/game/<game>.md lists each game’s).',
      }),
    }),
  ])
  .meta({ id: 'Verdict', description: 'What the rules made of one event of the batch.' });

export const problemSchema = z
  .strictObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(errorCodes),
    index: detailInteger.optional().meta({ description: 'Which event of the batch (events[i]).' }),
    bytes: detailInteger.optional(),
    limit: detailInteger.optional(),
    count: detailInteger.optional(),
    sessions: detailInteger
      .optional()
      .meta({ description: 'batch_too_large of POST /v1/appends: the sessions named.' }),
    version: detailInteger.nullable().optional(),
    currentSequence: detailInteger.optional(),
    retryAfter: detailInteger.optional().meta({ description: 'Seconds, as in Retry-After.' }),
    placement: z.string().optional().meta({
      description:
        'placement_unavailable: the placement that does not answer; tenant_moving: the one the tenant is moving or has moved to.',
    }),
    moved: z.boolean().optional().meta({
      description:
        'tenant_moving: true when the tenant has moved (the retry goes to its new placement), false while its writes are held for the switch.',
    }),
    rateLimit: z
      .object({
        perSecond: detailInteger,
        burst: detailInteger,
        source: z.enum(['key', 'tenant', 'server']),
      })
      .optional()
      .meta({
        description:
          'rate_limited: the limit that applied, and whether it was set on the key, on its tenant, or is the server’s.',
      }),
    kind: divergenceKind.optional().meta({ description: 'What integrity_violation found.' }),
    sequence: detailInteger.optional().meta({ description: 'Where integrity_violation found it.' }),
    lastMissing: detailInteger
      .optional()
      .meta({ description: 'integrity_violation of kind missing: the last missing sequence.' }),
    goneMonths: z
      .array(z.string())
      .optional()
      .meta({ description: 'integrity_violation of kind missing: the months (YYYY-MM) dropped.' }),
    eventId: uuid.optional().meta({
      description: 'event_id_conflict: the first event that differs from the stored one.',
    }),
    eventType: z
      .string()
      .optional()
      .meta({ description: 'seed_not_allowed: the event type whose seed only the server draws.' }),
    verdicts: z.array(verdictSchema).optional().meta({
      description:
        'rules_rejected: every event’s verdict, in batch order, judged from the state at currentSequence; nothing was stored.',
    }),
  })
  .meta({
    id: 'Problem',
    description:
      'RFC 9457 problem details with agate’s stable code and, for some codes, the details that help fix the request.',
  });

const gameState = z.record(z.string(), z.unknown()).meta({
  description: 'The rules’ state after the event: a JSON object whose shape is the game’s.',
});

export const sessionSchema = z
  .object({
    id: uuid,
    playerId: uuid.nullable(),
    rules: z.string(),
    rulesVersion: z.number().int(),
    seed: z.string(),
    config: z.record(z.string(), z.unknown()),
    status: z.enum(['active', 'ended']),
    lastSequence: z.number().int(),
    headHash: hash.nullable(),
    firstEventAt: time.nullable(),
    lastEventAt: time.nullable(),
    endedAt: time.nullable(),
    createdAt: time,
    updatedAt: time,
    writtenBy: z.string().meta({
      description:
        'The credential that created the session: key:<API key id>, import, fixtures, demo, library or legacy.',
    }),
  })
  .meta({ id: 'Session' });

export const createdSessionSchema = z
  .object({
    id: uuid,
    seed: z.string(),
    rules: z.string(),
    rulesVersion: z.number().int(),
    lastSequence: z.literal(0),
  })
  .meta({ id: 'CreatedSession' });

export const appendResultSchema = z
  .object({
    firstSequence: z.number().int(),
    lastSequence: z.number().int(),
    events: z.array(z.object({ eventId: uuid, sequence: z.number().int() })),
    verdicts: z.array(verdictSchema).optional().meta({
      description:
        'With verdicts only: each event’s verdict in batch order, judged from the state just before firstSequence (a retry gets the same ones).',
    }),
    sequence: z
      .number()
      .int()
      .optional()
      .meta({ description: 'With verdicts only: the session’s sequence after the batch.' }),
    stateHash: z.string().optional().meta({
      description:
        'With verdicts only: the state hash at sequence, as a replay to that sequence returns it.',
    }),
  })
  .meta({ id: 'AppendResult' });

export const storedEventSchema = z
  .object({
    eventId: uuid,
    sessionId: uuid,
    sequence: z.number().int(),
    type: z.string(),
    version: z.number().int(),
    data: z.record(z.string(), z.unknown()),
    clientTime: clientTimeText.nullable(),
    serverTime: time,
    hash,
    writtenBy: z.string().meta({
      description:
        'The credential that appended the event: key:<API key id>, import, fixtures, demo, library or legacy. Not part of the hash.',
    }),
  })
  .meta({ id: 'StoredEvent' });

export const eventPageSchema = z
  .object({ events: z.array(storedEventSchema), nextAfter: z.number().int().nullable() })
  .meta({ id: 'EventPage' });

export const stateSchema = z
  .object({ sequence: z.number().int(), stateHash: hash, state: gameState })
  .meta({ id: 'SessionState' });

export const divergenceSchema = z
  .object({
    kind: divergenceKind,
    sequence: z.number().int(),
    event: z.object({ eventId: uuid, type: z.string() }).nullable(),
    message: z.string(),
    expectedHash: z.string().optional(),
    actualHash: z.string().optional(),
    lastMissing: z.number().int().optional(),
    goneMonths: z.array(z.string()).optional(),
    paths: z.array(z.string()).optional(),
  })
  .meta({ id: 'Divergence' });

export const replaySchema = z
  .object({
    sessionId: uuid,
    rulesVersion: z.number().int(),
    sequence: z.number().int(),
    stateHash: hash,
    state: gameState,
    verified: z.boolean().nullable(),
    divergences: z.array(divergenceSchema),
    snapshotUsed: z.object({ sequence: z.number().int(), reason: z.string() }).nullable(),
    eventsReplayed: z.number().int(),
    trace: z
      .array(
        z.object({
          sequence: z.number().int(),
          type: z.string(),
          stateHash: hash,
          state: gameState.optional(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'Replay' });

export const snapshotListSchema = z
  .object({
    snapshots: z.array(
      z.object({
        sequence: z.number().int(),
        rulesVersion: z.number().int(),
        stateHash: hash,
        reason: z.string(),
        createdAt: time,
      }),
    ),
  })
  .meta({ id: 'SnapshotList' });

export const leaderboardSchema = z
  .object({
    rules: z.string(),
    entries: z.array(
      z.object({ rank: z.number().int(), sessionId: uuid, score: z.number().int() }),
    ),
  })
  .meta({ id: 'Leaderboard' });

const limitValue = z.number().int().min(1).max(maxRateLimitValue);

/** A rate limit stored on a key or a tenant; absent or null inherits. */
export const rateLimitSchema = z
  .strictObject({
    perSecond: limitValue.meta({ description: 'Requests per second.' }),
    burst: limitValue.meta({ description: 'Requests at once.' }),
  })
  .meta({
    id: 'RateLimit',
    description:
      'A rate limit per key: its own, else its tenant’s, else the server’s (AGATE_RATE_LIMIT).',
  });

export const createdKeySchema = z
  .object({
    id: uuid,
    key: z.string().meta({ description: 'Shown only in this response; stored hashed.' }),
    role: z.enum(['game_server', 'analyst', 'admin']),
    label: z.string().nullable(),
    rateLimit: rateLimitSchema
      .nullable()
      .meta({ description: 'The key’s own limit; null inherits its tenant’s, else the server’s.' }),
  })
  .meta({ id: 'CreatedApiKey' });

export const feedPositionText = z.string().meta({
  description:
    'A feed position, transaction:session:sequence (0:00000000-0000-0000-0000-000000000000:0 is the start). Opaque to clients: send back one the feed delivered.',
});

export const feedEventSchema = z
  .strictObject({
    position: feedPositionText,
    sessionId: uuid,
    sequence: z.number().int(),
    previousSequence: z.number().int().meta({
      description:
        'The sequence of the previous event of this session that the same filter delivers (0: none). A reader that last saw another sequence of this session missed an event.',
    }),
    eventId: uuid,
    type: z.string(),
    version: z.number().int(),
    data: z.record(z.string(), z.unknown()),
    clientTime: clientTimeText.nullable(),
    serverTime: time,
    hash,
  })
  .meta({ id: 'FeedEvent' });

export const feedPageSchema = z
  .strictObject({
    events: z.array(feedEventSchema),
    next: feedPositionText.meta({
      description:
        'Send as `after` for the next page: the last event’s position, or the page’s own start when it is empty.',
    }),
    held: z.boolean().meta({
      description:
        'True when committed events wait behind a transaction still open: ask again soon. The feed never skips them.',
    }),
  })
  .meta({ id: 'FeedPage' });

export const feedStreamSchema = z.string().meta({
  description:
    'Server-Sent Events: each event as `id: <position>`, `event: feed.event`, `data: <FeedEvent as JSON>`; comment lines (`: keep-alive`) while idle. Resume with the Last-Event-ID header.',
});
