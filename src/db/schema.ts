/**
 * The Drizzle description of agate's tables. drizzle-kit generates the base migration from it;
 * what Drizzle cannot express (partitioning, roles, RLS, triggers, functions, PII markers) lives in
 * hand-written migrations next to it. `test/integration/migrations.test.ts` proves the two agree.
 */
import { sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import {
  bigint,
  check,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgSchema,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/** A 64-bit transaction id (PostgreSQL 13+), read and written as its decimal text. */
const xid8 = customType<{ data: string; driverData: string }>({
  dataType: () => 'xid8',
});

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => timestamptz('created_at').notNull().defaultNow();
const updatedAt = () => timestamptz('updated_at').notNull().defaultNow();

export const gameSchema = pgSchema('game');
export const adminSchema = pgSchema('admin');

/** A rate-limit pair (migration 0016): both NULL (inherit) or both positive. */
const rateLimitCheck = (name: string, perSecond: AnyPgColumn, burst: AnyPgColumn) =>
  check(
    name,
    sql`(${perSecond} IS NULL AND ${burst} IS NULL) OR (${perSecond} IS NOT NULL AND ${burst} IS NOT NULL AND ${perSecond} > 0 AND ${burst} > 0)`,
  );

export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    rateLimitPerSecond: integer('rate_limit_per_second'),
    rateLimitBurst: integer('rate_limit_burst'),
  },
  (t) => [rateLimitCheck('tenants_rate_limit_check', t.rateLimitPerSecond, t.rateLimitBurst)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    keyHash: bytea('key_hash').notNull(),
    role: text('role').notNull(),
    label: text('label'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    revokedAt: timestamptz('revoked_at'),
    rateLimitPerSecond: integer('rate_limit_per_second'),
    rateLimitBurst: integer('rate_limit_burst'),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_key').on(t.keyHash),
    index('api_keys_tenant_id_idx').on(t.tenantId),
    check('api_keys_role_check', sql`${t.role} in ('game_server', 'analyst', 'admin')`),
    rateLimitCheck('api_keys_rate_limit_check', t.rateLimitPerSecond, t.rateLimitBurst),
  ],
);

/**
 * Operator keys: credentials of no tenant, the only ones that act across tenants (ADR 0014).
 * Row-level security is forced with no policy (migration 0009): only agate_maintenance reads them.
 */
export const operatorKeys = pgTable(
  'operator_keys',
  {
    id: uuid('id').primaryKey(),
    keyHash: bytea('key_hash').notNull(),
    label: text('label'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    revokedAt: timestamptz('revoked_at'),
  },
  (t) => [uniqueIndex('operator_keys_key_hash_key').on(t.keyHash)],
);

export const players = pgTable(
  'players',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    externalRef: text('external_ref'),
    displayName: text('display_name'),
    email: text('email'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    erasedAt: timestamptz('erased_at'),
  },
  (t) => [
    unique('players_tenant_id_id_key').on(t.tenantId, t.id),
    uniqueIndex('players_tenant_id_external_ref_key').on(t.tenantId, t.externalRef),
  ],
);

export const sessions = gameSchema.table(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    playerId: uuid('player_id'),
    rules: text('rules').notNull(),
    rulesVersion: integer('rules_version').notNull(),
    seed: text('seed').notNull(),
    config: jsonb('config').notNull().default({}),
    status: text('status').notNull().default('active'),
    lastSequence: bigint('last_sequence', { mode: 'number' }).notNull().default(0),
    headHash: bytea('head_hash').notNull(),
    /** The chain's root (the first event's previous hash); NULL for sessions with events older than migration 0008. */
    rootHash: bytea('root_hash'),
    firstEventAt: timestamptz('first_event_at'),
    lastEventAt: timestamptz('last_event_at'),
    endedAt: timestamptz('ended_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** The credential that created the session (`writtenBy` in src/events/written-by.ts). */
    writtenBy: text('written_by').notNull(),
  },
  (t) => [
    unique('sessions_tenant_id_id_key').on(t.tenantId, t.id),
    index('sessions_tenant_id_player_id_idx').on(t.tenantId, t.playerId),
    foreignKey({
      name: 'sessions_player_fk',
      columns: [t.tenantId, t.playerId],
      foreignColumns: [players.tenantId, players.id],
    }),
    check('sessions_status_check', sql`${t.status} in ('active', 'ended')`),
    check('sessions_last_sequence_check', sql`${t.lastSequence} >= 0`),
  ],
);

/** Append-only, `PARTITION BY RANGE (server_time)` (added to the generated migration by hand). */
export const events = gameSchema.table(
  'events',
  {
    eventId: uuid('event_id').notNull(),
    tenantId: uuid('tenant_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    eventType: text('event_type').notNull(),
    eventVersion: integer('event_version').notNull(),
    eventData: jsonb('event_data').notNull(),
    clientTime: timestamptz('client_time'),
    serverTime: timestamptz('server_time').notNull(),
    hash: bytea('hash').notNull(),
    /** The credential that appended the event; outside the content hash and the chain. */
    writtenBy: text('written_by').notNull(),
    /**
     * The writing transaction's id: the feed orders events by (transaction_id, session_id,
     * sequence) and delivers only transactions older than every open one (ADR 0021). Events
     * stored before the feed existed read as '0'.
     */
    transactionId: xid8('transaction_id')
      .notNull()
      .default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ name: 'events_pkey', columns: [t.sessionId, t.sequence, t.serverTime] }),
    index('events_session_id_event_id_idx').on(t.sessionId, t.eventId),
    index('events_feed_idx').on(t.tenantId, t.transactionId, t.sessionId, t.sequence),
    // Single-column on purpose: the primary key's prefix indexes it, and the append function
    // copies tenant_id from the locked session row, so the pair cannot disagree.
    foreignKey({
      name: 'events_session_fk',
      columns: [t.sessionId],
      foreignColumns: [sessions.id],
    }),
  ],
);

export const snapshots = gameSchema.table(
  'snapshots',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    rulesVersion: integer('rules_version').notNull(),
    state: jsonb('state').notNull(),
    stateHash: bytea('state_hash').notNull(),
    reason: text('reason').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('snapshots_session_id_sequence_key').on(t.sessionId, t.sequence),
    index('snapshots_tenant_id_session_id_idx').on(t.tenantId, t.sessionId),
    foreignKey({
      name: 'snapshots_session_fk',
      columns: [t.tenantId, t.sessionId],
      foreignColumns: [sessions.tenantId, sessions.id],
    }),
    check('snapshots_reason_check', sql`${t.reason} in ('interval', 'day_boundary', 'manual')`),
    check('snapshots_sequence_check', sql`${t.sequence} >= 0`),
  ],
);

/** Append-only, `PARTITION BY RANGE (occurred_at)`. System entries have no tenant. */
export const auditLog = adminSchema.table(
  'audit_log',
  {
    id: uuid('id').notNull(),
    tenantId: uuid('tenant_id'),
    occurredAt: timestamptz('occurred_at').notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subject: text('subject'),
    details: jsonb('details').notNull().default({}),
  },
  (t) => [
    primaryKey({ name: 'audit_log_pkey', columns: [t.id, t.occurredAt] }),
    index('audit_log_tenant_id_occurred_at_idx').on(t.tenantId, t.occurredAt),
    index('audit_log_action_subject_idx').on(t.action, t.subject),
  ],
);

/** Partition maintenance settings per time-partitioned table (not tenant-scoped; owner only). */
export const partitionSettings = adminSchema.table(
  'partition_settings',
  {
    parentTable: text('parent_table').primaryKey(),
    premake: integer('premake').notNull().default(3),
    retentionMonths: integer('retention_months'),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('partition_settings_premake_check', sql`${t.premake} between 1 and 120`),
    check(
      'partition_settings_retention_check',
      sql`${t.retentionMonths} is null or ${t.retentionMonths} >= 1`,
    ),
  ],
);

/** What the nightly audit found: one row per (session, sequence, kind), however many runs see it. */
export const integrityFindings = adminSchema.table(
  'integrity_findings',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    kind: text('kind').notNull(),
    message: text('message').notNull(),
    runId: uuid('run_id').notNull(),
    foundAt: timestamptz('found_at').notNull().defaultNow(),
  },
  (t) => [
    unique('integrity_findings_session_id_sequence_kind_key').on(t.sessionId, t.sequence, t.kind),
    index('integrity_findings_tenant_id_idx').on(t.tenantId),
  ],
);

/**
 * How far the nightly audit verified each session: the chain and every snapshot up to
 * `verified_sequence`, and the snapshot at `snapshot_sequence` (its state hash and the chain hash
 * there), where the next night's incremental check starts folding.
 */
export const sessionAudits = adminSchema.table(
  'session_audits',
  {
    sessionId: uuid('session_id').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    snapshotSequence: bigint('snapshot_sequence', { mode: 'number' }).notNull(),
    chainHash: bytea('chain_hash').notNull(),
    stateHash: bytea('state_hash').notNull(),
    verifiedSequence: bigint('verified_sequence', { mode: 'number' }).notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [index('session_audits_tenant_id_idx').on(t.tenantId)],
);

/** The nightly job's one row of cluster-wide state: schedule, audit mark, rolling cursor. */
export const nightlyState = adminSchema.table(
  'nightly_state',
  {
    id: text('id').primaryKey(),
    schedule: text('schedule'),
    auditedUntil: timestamptz('audited_until'),
    verifyCursor: uuid('verify_cursor'),
    lastSuccessAt: timestamptz('last_success_at'),
    updatedAt: updatedAt(),
  },
  (t) => [check('nightly_state_single_row_check', sql`${t.id} = 'nightly'`)],
);

export const feedSchema = pgSchema('feed');

/**
 * Durable consumers of a tenant's feed, under its RLS policy. agate's own consumers (names under
 * `agate.`) exist once per tenant, so their checkpoints move with the tenant; their runner
 * enumerates tenants as agate_maintenance and handles each tenant's events as agate_app.
 * `slots` splits the consumer by session for a group of members: a session's events always fall
 * in slot `get_byte(uuid_send(session_id), 15) % slots`.
 */
export const consumers = feedSchema.table(
  'consumers',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    name: text('name').notNull(),
    /** Event types delivered; null delivers every type. */
    eventTypes: text('event_types').array(),
    slots: integer('slots').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('consumers_tenant_id_name_key').on(t.tenantId, t.name),
    foreignKey({
      name: 'consumers_tenant_fk',
      columns: [t.tenantId],
      foreignColumns: [tenants.id],
    }),
    check('consumers_slots_check', sql`${t.slots} between 1 and 256`),
    check('consumers_name_check', sql`${t.name} ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`),
  ],
);

/**
 * One row per slot of a consumer: its checkpoint (the feed position of the last event handled)
 * and its lease. Every checkpoint write names the epoch its writer claimed the slot with, so a
 * member that lost its lease (a zombie) writes nothing.
 */
export const consumerSlots = feedSchema.table(
  'consumer_slots',
  {
    consumerId: uuid('consumer_id').notNull(),
    tenantId: uuid('tenant_id').notNull(),
    slot: integer('slot').notNull(),
    checkpointTransaction: xid8('checkpoint_transaction')
      .notNull()
      .default(sql`'0'`),
    checkpointSession: uuid('checkpoint_session')
      .notNull()
      .default(sql`'00000000-0000-0000-0000-000000000000'`),
    checkpointSequence: bigint('checkpoint_sequence', { mode: 'number' }).notNull().default(0),
    owner: text('owner'),
    epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
    leaseExpiresAt: timestamptz('lease_expires_at'),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ name: 'consumer_slots_pkey', columns: [t.consumerId, t.slot] }),
    index('consumer_slots_tenant_id_idx').on(t.tenantId),
    foreignKey({
      name: 'consumer_slots_consumer_fk',
      columns: [t.consumerId],
      foreignColumns: [consumers.id],
    }).onDelete('cascade'),
  ],
);

/** The live members of a consumer's group; a member whose heartbeat expired has left. */
export const consumerMembers = feedSchema.table(
  'consumer_members',
  {
    consumerId: uuid('consumer_id').notNull(),
    tenantId: uuid('tenant_id').notNull(),
    member: text('member').notNull(),
    joinedAt: timestamptz('joined_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'consumer_members_pkey', columns: [t.consumerId, t.member] }),
    index('consumer_members_tenant_id_idx').on(t.tenantId),
    foreignKey({
      name: 'consumer_members_consumer_fk',
      columns: [t.consumerId],
      foreignColumns: [consumers.id],
    }).onDelete('cascade'),
  ],
);

export const analyticsSchema = pgSchema('analytics');

/**
 * One row per event, for analysts: the columns they filter on, the session's player and rules,
 * and the fields its rules declare for the event's type (`GameRules.analyticsFields`). Written
 * only by agate's own `agate.analytics` feed consumer, in the transaction of its checkpoint, so
 * each event's row is written once (ADR 0023). Append-only and `PARTITION BY RANGE
 * (server_time)` by month like game.events (added to the generated migration by hand); months
 * that retention detaches are kept in `analytics_archive`.
 */
export const analyticsEvents = analyticsSchema.table(
  'events',
  {
    tenantId: uuid('tenant_id').notNull(),
    sessionId: uuid('session_id').notNull(),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    eventVersion: integer('event_version').notNull(),
    serverTime: timestamptz('server_time').notNull(),
    clientTime: timestamptz('client_time'),
    playerId: uuid('player_id'),
    rules: text('rules').notNull(),
    rulesVersion: integer('rules_version').notNull(),
    fields: jsonb('fields').notNull().default({}),
  },
  (t) => [
    primaryKey({ name: 'events_pkey', columns: [t.sessionId, t.sequence, t.serverTime] }),
    // The API's keyset order is (server_time, session_id, sequence) within the tenant.
    index('events_tenant_time_idx').on(t.tenantId, t.serverTime, t.sessionId, t.sequence),
    index('events_tenant_type_time_idx').on(
      t.tenantId,
      t.eventType,
      t.serverTime,
      t.sessionId,
      t.sequence,
    ),
    index('events_tenant_player_time_idx').on(
      t.tenantId,
      t.playerId,
      t.serverTime,
      t.sessionId,
      t.sequence,
    ),
    // Single-column like game.events': the primary key's prefix indexes it.
    foreignKey({
      name: 'events_session_fk',
      columns: [t.sessionId],
      foreignColumns: [sessions.id],
    }),
  ],
);
