import { z } from 'zod';
import { defineEventTypes } from '../event-types.js';
import type { Upcaster } from '../rules.js';
import { gateConfigSchema } from './config.js';

const requestId = z.string().min(1).max(100);

export const dayStartedV1 = z.strictObject({});
export const requestDecidedV1 = z.strictObject({ requestId, approved: z.boolean() });
export const requestDecidedV2 = z.strictObject({
  requestId,
  decision: z.enum(['approve', 'deny', 'flag']),
});
export const requestInvestigatedV1 = z.strictObject({ requestId });
export const defensePurchasedV1 = z.strictObject({
  defense: z.enum(['firewall', 'mfa', 'training']),
});
export const dayEndedV1 = z.strictObject({ seed: z.string().min(1).max(256) });

/** Every event type of archive-gate v1 (plus `session.ended` v1, which every game gets). */
export const gateEventTypes = defineEventTypes(
  'archive-gate',
  1,
  [
    { type: 'day.started', version: 1, schema: dayStartedV1, consumesRandomness: false },
    { type: 'request.decided', version: 1, schema: requestDecidedV1, consumesRandomness: false },
    { type: 'request.decided', version: 2, schema: requestDecidedV2, consumesRandomness: false },
    {
      type: 'request.investigated',
      version: 1,
      schema: requestInvestigatedV1,
      consumesRandomness: false,
    },
    {
      type: 'defense.purchased',
      version: 1,
      schema: defensePurchasedV1,
      consumesRandomness: false,
    },
    // The seed decides the day's breach rolls: a game server may not choose it (ADR 0013).
    {
      type: 'day.ended',
      version: 1,
      schema: dayEndedV1,
      consumesRandomness: true,
      clientMaySupplySeed: false,
    },
  ],
  { configSchema: gateConfigSchema },
);

/** request.decided v1 only knew approve or deny; v2 adds flag. */
export const gateUpcasters: readonly Upcaster[] = [
  {
    type: 'request.decided',
    fromVersion: 1,
    upcast: (data) => ({
      requestId: data.requestId,
      decision: data.approved === true ? 'approve' : 'deny',
    }),
  },
];

/** An event as a client sends it (before the store adds ids and sequences). */
export type GateEventInput = { type: string; version: number; data: Record<string, unknown> };

/**
 * Brings an event to the newest version of its type, as the replay engine does before evolve.
 * An unknown type, or a version with no upcaster, comes back as it was.
 */
export function upcastToLatest<E extends GateEventInput>(event: E): E {
  const latest = gateEventTypes.latestVersion(event.type) ?? event.version;
  let current = event;
  while (current.version < latest) {
    const from = current.version;
    const step = gateUpcasters.find((u) => u.type === current.type && u.fromVersion === from);
    if (step === undefined) return current;
    current = { ...current, version: from + 1, data: step.upcast(current.data) };
  }
  return current;
}
