import { z } from 'zod';
import { clientTimeText, maxFeedPage } from '../../../events/index.js';
import { queryIntegerIn, time, uuid } from '../../schemas.js';

// The shapes of the consumer routes. The event shape is GET /v1/feed's: one delivered event
// reads the same whichever way it was delivered.

const feedPosition = z.string().max(200).meta({
  description:
    'A feed position, transaction:session:sequence (0:00000000-0000-0000-0000-000000000000:0 is the start). Opaque to clients: send back one agate delivered.',
});

const sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .meta({ description: 'sha256, hex' });

export const consumerParams = z.strictObject({
  name: z.string().max(100).meta({
    description:
      "1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit; names under 'agate.' are agate's own.",
  }),
});

export const memberParams = consumerParams.extend({
  member: z.string().max(200).meta({ description: 'The member, as it joined.' }),
});

const startText = z.string().max(200).meta({
  description:
    '`beginning` (every event), `now` (events committed from now on) or a feed position (the events after it).',
});

export const putConsumerBody = z
  .strictObject({
    types: z.array(z.string().max(100)).max(50).nullable().optional().meta({
      description:
        'Only these event types (1 to 50 names); null or absent: every type. With a filter, each event’s previousSequence counts only events of these types.',
    }),
    slots: z.number().int().min(1).max(256).optional().meta({
      description:
        'How many slots the sessions are split into, so that up to this many members share the consumer (default 16).',
    }),
    start: startText.optional().meta({
      description:
        'Where a consumer created now starts (default `beginning`): `beginning`, `now` or a feed position. Ignored when it exists.',
    }),
  })
  .meta({ id: 'PutConsumer' });

export const resetConsumerBody = z
  .strictObject({
    to: startText.meta({
      description:
        'Where every slot’s checkpoint moves: `beginning`, `now` or a feed position. Current members are fenced (their next checkpoint is lease_lost) and rejoin from there.',
    }),
  })
  .meta({ id: 'ResetConsumer' });

export const joinBody = z
  .strictObject({
    member: z.string().min(1).max(200).optional().meta({
      description:
        'This process’s name in the group, the same on every heartbeat; the server makes one up when absent (send it back from then on).',
    }),
    leaseMs: z.number().int().min(100).max(600_000).optional().meta({
      description:
        'How long the slots stay this member’s without a heartbeat (default 30000). Heartbeat (join again) well within it, e.g. every third.',
    }),
  })
  .meta({ id: 'JoinConsumer' });

export const receiveQuery = z.strictObject({
  member: z.string().min(1).max(200).meta({ description: 'The member, as it joined.' }),
  limit: queryIntegerIn(1, maxFeedPage)
    .optional()
    .meta({ description: `Events per receive (default 100, at most ${maxFeedPage}).` }),
});

const slotEpoch = z.strictObject({
  slot: z.number().int().min(0).max(255),
  epoch: z.number().int(),
});

export const checkpointBody = z
  .strictObject({
    member: z.string().min(1).max(200),
    slots: z.array(slotEpoch).min(1).max(256).meta({
      description: 'The slots and epochs the receive answered with.',
    }),
    position: feedPosition.meta({
      description: 'The receive’s `through`: every event of these slots up to it is handled.',
    }),
    leaseMs: z.number().int().min(100).max(600_000).optional().meta({
      description:
        'Renews the slots’ lease by this much (default 30000); send the one joined with.',
    }),
  })
  .meta({ id: 'ConsumerCheckpoint' });

export const consumerEventSchema = z
  .strictObject({
    position: feedPosition,
    sessionId: uuid,
    sequence: z.number().int(),
    previousSequence: z.number().int().meta({
      description:
        'The sequence of the previous event of this session that the consumer’s filter delivers (0: none). A member that last saw another sequence of this session missed an event.',
    }),
    eventId: uuid,
    type: z.string(),
    version: z.number().int(),
    data: z.record(z.string(), z.unknown()),
    clientTime: clientTimeText.nullable(),
    serverTime: time,
    hash: sha256Hex,
  })
  .meta({ id: 'ConsumerEvent' });

const slotStateSchema = z.strictObject({
  slot: z.number().int(),
  checkpoint: feedPosition,
  owner: z.string().nullable(),
  epoch: z.number().int(),
  leaseExpiresAt: time.nullable(),
});

export const consumerSchema = z
  .strictObject({
    name: z.string(),
    types: z.array(z.string()).nullable(),
    slots: z.number().int(),
    createdAt: time,
    updatedAt: time,
    slotStates: z.array(slotStateSchema).meta({
      description: 'Each slot’s checkpoint and lease (owner null: free).',
    }),
    members: z
      .array(z.strictObject({ member: z.string(), joinedAt: time, expiresAt: time }))
      .meta({ description: 'The members whose lease is live.' }),
  })
  .meta({ id: 'Consumer' });

export const consumerListSchema = z
  .strictObject({ consumers: z.array(consumerSchema) })
  .meta({ id: 'ConsumerList' });

export const membershipSchema = z
  .strictObject({
    member: z.string(),
    slotCount: z.number().int(),
    slots: z.array(
      z.strictObject({ slot: z.number().int(), epoch: z.number().int(), checkpoint: feedPosition }),
    ),
    leaseMs: z.number().int(),
    expiresAt: time.meta({
      description: 'When the lease ends at the latest without a heartbeat, by this server’s clock.',
    }),
  })
  .meta({ id: 'ConsumerMembership' });

export const receivedSchema = z
  .strictObject({
    events: z.array(consumerEventSchema),
    slots: z.array(slotEpoch).meta({
      description:
        'The slots read, with the epochs they were read under: send them with the checkpoint. Empty: the member holds no slot (join again).',
    }),
    through: feedPosition.nullable().meta({
      description:
        'Checkpoint this once the events are handled (even when there are none: it moves a lagging slot on); null: nothing was read.',
    }),
    held: z.boolean().meta({
      description:
        'True when committed events wait behind a transaction still open: receive again soon. They are never skipped.',
    }),
  })
  .meta({ id: 'ReceivedEvents' });
