import type { FastifyRequest } from 'fastify';
import type { TenantRole } from '../../../db/index.js';
import { formatFeedPosition, parseFeedPosition } from '../../../events/index.js';
import type { FeedEvent } from '../../../events/index.js';
import type { ConsumerStart, ConsumerStatus } from '../../../feed/index.js';
import { principalOf, readRoleOf } from '../../auth.js';

/**
 * Who may manage and run consumers: game servers, analysts (an analytics pipeline is a natural
 * consumer) and admins. Game servers work as agate_app; analysts and admins as agate_analyst,
 * which may write the feed's consumer tables and nothing else (migration 0015).
 */
export const consumerUsers = ['game_server', 'analyst', 'admin'] as const;

/** The key's tenant and the database role its consumer work runs as. */
export function consumerCaller(request: FastifyRequest): { tenantId: string; role: TenantRole } {
  const principal = principalOf(request);
  return { tenantId: principal.tenantId, role: readRoleOf(principal) };
}

/** `beginning`, `now` or a feed position; `invalid_request` naming `name` otherwise. */
export function parseStart(text: string, name: string): ConsumerStart {
  if (text === 'beginning' || text === 'now') return text;
  return { after: parseFeedPosition(text, name) };
}

/** A delivered event as GET /v1/feed sends it (the tenant is the key's, so it is left out). */
export function consumerEventJson(event: FeedEvent): Record<string, unknown> {
  return {
    position: formatFeedPosition(event.position),
    sessionId: event.sessionId,
    sequence: event.sequence,
    previousSequence: event.previousSequence,
    eventId: event.eventId,
    type: event.type,
    version: event.version,
    data: event.data,
    clientTime: event.clientTime,
    serverTime: event.serverTime.toISOString(),
    hash: event.hash,
  };
}

export function consumerJson(status: ConsumerStatus): Record<string, unknown> {
  return {
    name: status.name,
    types: status.types,
    slots: status.slots,
    createdAt: status.createdAt.toISOString(),
    updatedAt: status.updatedAt.toISOString(),
    slotStates: status.slotStates.map((s) => ({
      slot: s.slot,
      checkpoint: s.checkpoint,
      owner: s.owner,
      epoch: s.epoch,
      leaseExpiresAt: s.leaseExpiresAt?.toISOString() ?? null,
    })),
    members: status.members.map((m) => ({
      member: m.member,
      joinedAt: m.joinedAt.toISOString(),
      expiresAt: m.expiresAt.toISOString(),
    })),
  };
}
