import { z } from 'zod';
import { errorCodes } from '../errors/index.js';

// The shapes of the API, declared once: routes parse their inputs with these, and the OpenAPI
// document at /openapi.json is written from them. Responses are documented, not re-validated.

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

/** A non-negative integer in a query string. */
export const queryInteger = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a non-negative integer')
  .transform(Number);

export const queryFlag = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

export const idParams = z.strictObject({ id: z.string().max(100) });

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(errorCodes),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with agate’s stable code.' });

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

export const newEventSchema = z
  .object({
    eventId: uuid.optional(),
    type: z.string(),
    version: z.number().int().optional(),
    data: z.record(z.string(), z.unknown()),
    clientTime: time.optional(),
  })
  .meta({
    id: 'NewEvent',
    description: 'Checked by the store against the session’s registered event types.',
  });

export const appendResultSchema = z
  .object({
    firstSequence: z.number().int(),
    lastSequence: z.number().int(),
    events: z.array(z.object({ eventId: uuid, sequence: z.number().int() })),
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
    clientTime: time.nullable(),
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
  .object({ sequence: z.number().int(), stateHash: hash, state: z.unknown() })
  .meta({ id: 'SessionState' });

export const divergenceSchema = z
  .object({
    kind: z.enum([
      'chain',
      'missing',
      'gap',
      'duplicate',
      'head',
      'anchor',
      'snapshot',
      'snapshot_corrupt',
    ]),
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
    state: z.unknown(),
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
          state: z.unknown().optional(),
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

export const createdKeySchema = z
  .object({
    id: uuid,
    key: z.string().meta({ description: 'Shown only in this response; stored hashed.' }),
    role: z.enum(['game_server', 'analyst', 'admin']),
    label: z.string().nullable(),
  })
  .meta({ id: 'CreatedApiKey' });
