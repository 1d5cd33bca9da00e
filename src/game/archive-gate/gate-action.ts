import type { z } from 'zod';
import { sessionEndedV1 } from '../event-types.js';
import { hasExactKeys } from '../exact-keys.js';
import type { GameEvent } from '../rules.js';
import {
  dayEndedV1,
  dayStartedV1,
  defensePurchasedV1,
  gateEventTypes,
  requestDecidedV2,
  requestInvestigatedV1,
  upcastToLatest,
} from './event-types.js';
import type { Decision, DefenseName } from './state.js';

/** A stored event, checked against its newest schema and typed. */
export type GateAction =
  | { type: 'day.started' }
  | { type: 'request.decided'; requestId: string; decision: Decision }
  | { type: 'request.investigated'; requestId: string }
  | { type: 'defense.purchased'; defense: DefenseName }
  | { type: 'day.ended' }
  | { type: 'session.ended' };

function isString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max;
}

function isDecision(value: unknown): value is Decision {
  return value === 'approve' || value === 'deny' || value === 'flag';
}

function isDefense(value: unknown): value is DefenseName {
  return value === 'firewall' || value === 'mfa' || value === 'training';
}

/**
 * The action when `data` has exactly the plain shape the store writes, without going through
 * zod (most of a fold's cost otherwise). Accepts only what the schemas accept, with the same
 * result; anything else, valid or not, is undefined and left to the schemas.
 */
function quickAction(type: string, data: Record<string, unknown>): GateAction | undefined {
  switch (type) {
    case 'request.decided': {
      const { requestId, decision } = data;
      return isString(requestId, 100) && isDecision(decision) && hasExactKeys(data, decidedKeys)
        ? { type, requestId, decision }
        : undefined;
    }
    case 'request.investigated': {
      const { requestId } = data;
      return isString(requestId, 100) && hasExactKeys(data, investigatedKeys)
        ? { type, requestId }
        : undefined;
    }
    case 'day.started':
      return hasExactKeys(data, []) ? { type } : undefined;
    case 'day.ended':
      return isString(data.seed, 256) && hasExactKeys(data, endedKeys) ? { type } : undefined;
    case 'defense.purchased': {
      const { defense } = data;
      return isDefense(defense) && hasExactKeys(data, purchasedKeys)
        ? { type, defense }
        : undefined;
    }
    default:
      return undefined;
  }
}

const decidedKeys = ['requestId', 'decision'];
const investigatedKeys = ['requestId'];
const endedKeys = ['seed'];
const purchasedKeys = ['defense'];

function parsed<T>(schema: z.ZodType<T>, data: unknown): T | undefined {
  const result = schema.safeParse(data);
  return result.success ? result.data : undefined;
}

/** The schemas' verdict, for every shape `quickAction` leaves alone. */
function parsedAction(type: string, data: Record<string, unknown>): GateAction | undefined {
  switch (type) {
    case 'day.started':
      return parsed(dayStartedV1, data) && { type: 'day.started' };
    case 'request.decided': {
      const ok = parsed(requestDecidedV2, data);
      return ok && { type: 'request.decided', ...ok };
    }
    case 'request.investigated': {
      const ok = parsed(requestInvestigatedV1, data);
      return ok && { type: 'request.investigated', ...ok };
    }
    case 'defense.purchased': {
      const ok = parsed(defensePurchasedV1, data);
      return ok && { type: 'defense.purchased', ...ok };
    }
    case 'day.ended':
      return parsed(dayEndedV1, data) && { type: 'day.ended' };
    case 'session.ended':
      return parsed(sessionEndedV1.schema, data) && { type: 'session.ended' };
    default:
      return undefined;
  }
}

/** Undefined for anything evolve cannot read: an unknown type, an old version, bad data. */
export function toAction(event: GameEvent): GateAction | undefined {
  const latest = gateEventTypes.latestVersion(event.type);
  const { type, version, data } = event.version === latest ? event : upcastToLatest(event);
  if (latest === undefined || version !== latest) return undefined;
  return quickAction(type, data) ?? parsedAction(type, data);
}
