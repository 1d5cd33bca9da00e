import { tenantAgate } from '../tenant-agate.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { eventBatchSchema, keyWriter } from '../../events/index.js';
import type { Limits, NewEvent, SessionAppendResult } from '../../events/index.js';
import type { GameCatalog } from '../../game/index.js';
import { isUuid } from '../../db/index.js';
import { errorCodes } from '../../errors/index.js';
import type { ApiContext } from '../api-context.js';
import type { ApiMetrics } from '../metrics.js';
import { principalOf } from '../auth.js';
import { defineRoute } from '../define-route.js';
import { typedEvent } from '../game-schemas.js';
import { documentedBy, uuid } from '../schemas.js';

/** Largest body of `POST /v1/appends` unless the server's own limit is larger: 64 sessions' worth. */
export const appendsBodyLimit = 16 * 1024 * 1024;

/** A session named twice (a UUID in any case) refuses the whole request. */
function refuseRepeats(sessions: readonly { sessionId: string }[], context: z.RefinementCtx) {
  const seen = new Set<string>();
  sessions.forEach(({ sessionId }, index) => {
    const id = isUuid(sessionId) ? sessionId.toLowerCase() : sessionId;
    if (seen.has(id)) {
      context.addIssue({
        code: 'custom',
        path: [index, 'sessionId'],
        message: `names session ${id} again; send each session once per request, its events in one batch`,
      });
    }
    seen.add(id);
  });
}

function appendsBody(limits: Limits, games: GameCatalog) {
  const events = z.array(z.unknown()).pipe(z.custom<NewEvent[]>());
  documentedBy.set(events, eventBatchSchema(limits, typedEvent(games)));
  const session = z.strictObject({
    sessionId: uuid,
    events,
    expectedSequence: z.number().int().min(0).optional(),
  });
  // Empty and twice-named are refused here, not by the store, so that the message names the
  // body's `sessions` (the store's own refusals name its `batches`).
  const sessions = z
    .array(session)
    .min(1, 'must name at least one session')
    .superRefine(refuseRepeats)
    .meta({
      description: `1 to ${limits.maxSessionsPerAppend} sessions, each named once; more is 413 batch_too_large and nothing is stored.`,
    });
  return z.strictObject({ sessions }).meta({ id: 'AppendMany' });
}

const appendedSchema = z.strictObject({
  sessionId: uuid,
  ok: z.literal(true),
  duplicate: z.boolean().meta({ description: 'Every event was stored before (a retry).' }),
  firstSequence: z.number().int(),
  lastSequence: z.number().int(),
  events: z.array(z.strictObject({ eventId: uuid, sequence: z.number().int() })),
});

const failedSchema = z.strictObject({
  sessionId: z.string(),
  ok: z.literal(false),
  code: z.enum(errorCodes),
  message: z.string(),
  currentSequence: z.number().int().optional(),
  index: z
    .number()
    .int()
    .optional()
    .meta({ description: 'With event_id_conflict or a bad event: the index of the event.' }),
  eventId: uuid.optional().meta({ description: 'With event_id_conflict: the event’s id.' }),
});

const appendManyResultSchema = z
  .strictObject({ results: z.array(z.union([appendedSchema, failedSchema])) })
  .meta({ id: 'AppendManyResult' });

type SessionAnswer = z.output<typeof appendedSchema> | z.output<typeof failedSchema>;

function answer(result: SessionAppendResult): SessionAnswer {
  if (result.ok) {
    const { sessionId, duplicate, firstSequence, lastSequence, events } = result;
    return { sessionId, ok: true, duplicate, firstSequence, lastSequence, events };
  }
  const { sessionId, reason: code, message, currentSequence } = result;
  const base = {
    sessionId,
    ok: false as const,
    code,
    message,
    ...(currentSequence === null ? {} : { currentSequence }),
  };
  if (result.reason === 'event_id_conflict') {
    return { ...base, index: result.index, eventId: result.eventId };
  }
  const index = 'details' in result ? result.details?.index : undefined;
  return typeof index === 'number' ? { ...base, index } : base;
}

/** Refusals because another writer got there first, as the single append counts them. */
const conflictCodes = new Set([
  'session_ended',
  'sequence_conflict',
  'event_id_conflict',
  'session_busy',
]);

/** Each session counts as an append in the metrics; the request's duration is observed once. */
function record(metrics: ApiMetrics, results: readonly SessionAppendResult[], startedAt: number) {
  metrics.appendSeconds.observe((performance.now() - startedAt) / 1000);
  for (const r of results) {
    if (!r.ok) {
      metrics.appends.inc({ result: r.reason });
      if (conflictCodes.has(r.reason)) metrics.appendConflicts.inc({ code: r.reason });
    } else if (r.duplicate) {
      metrics.appends.inc({ result: 'duplicate' });
    } else {
      metrics.appends.inc({ result: 'stored' });
      metrics.eventsAppended.inc(r.events.length);
    }
  }
}

export function registerAppendsRoute(app: FastifyInstance, context: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'POST',
      url: '/v1/appends',
      operationId: 'appendMany',
      summary:
        'Append to many sessions in one request and one commit; a result per session, in order.',
      tag: 'events',
      access: ['game_server'],
      body: appendsBody(context.agate.store.deps.limits, context.agate.games),
      bodyLimit: Math.max(appendsBodyLimit, app.initialConfig.bodyLimit ?? 0),
      responses: {
        200: {
          description:
            'Each session’s outcome in request order: its sequences (duplicate on a retry), or why nothing of its batch was stored (session_busy: retry the same batch).',
          body: appendManyResultSchema,
        },
      },
    },
    async ({ body }, request) => {
      const { tenantId, id: keyId } = principalOf(request);
      const { store } = await tenantAgate(context, request);
      const startedAt = performance.now();
      const { results } = await store.appendMany({
        tenantId,
        writtenBy: keyWriter(keyId),
        batches: body.sessions,
      });
      record(context.metrics, results, startedAt);
      return { results: results.map(answer) };
    },
  );
}
