import type { FastifyReply } from 'fastify';
import { AgateError } from '../errors/index.js';
import type { AppendResult } from '../events/index.js';

/**
 * 201 with the sequences (and, when asked for, the verdicts), or 200 with the same body when the
 * whole batch was stored before.
 */
export function sendAppendResult(reply: FastifyReply, result: AppendResult): FastifyReply {
  if (!result.ok) {
    const details: Record<string, unknown> =
      result.currentSequence === null ? {} : { currentSequence: result.currentSequence };
    if (result.reason === 'event_id_conflict') {
      details.index = result.index;
      details.eventId = result.eventId;
    }
    if (result.reason === 'rules_rejected') details.verdicts = result.verdicts;
    throw new AgateError(result.reason, result.message, { details });
  }
  const { firstSequence, lastSequence, events, verdicts, sequence, stateHash } = result;
  const body =
    verdicts === undefined
      ? { firstSequence, lastSequence, events }
      : { firstSequence, lastSequence, events, verdicts, sequence, stateHash };
  return reply.code(result.duplicate ? 200 : 201).send(body);
}
