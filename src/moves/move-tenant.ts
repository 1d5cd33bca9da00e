// An online move of a tenant between placements (issue 19, ADR 0034), while its game servers
// keep appending. Invariants:
// - Nothing is lost: events are copied in the source's feed order, each source transaction
//   committed by itself on the target with the copy's progress (admin.copy_event_groups), so a
//   rerun resumes after the last one written; the switch happens only after the tenant's writes were held (the fence), the last
//   events copied, and every session's chain head and event count and every anchor verified
//   equal on both sides; the source refuses the tenant's writes from then on (fence `moved`),
//   so a process that still routes there is told to ask again, never stores there.
// - Killed at any point, the state is one a rerun completes: before the source says `moved`
//   the tenant lives at the source (the fence lifts when the mover's connection ends); after it,
//   the data is complete on the target and the rerun verifies and switches.
// - Feed positions survive: the target's order is the source's, so a checkpoint maps to the
//   target position of the last event at or before it (consumers here; the feed's `after`
//   cursor by its event, in readFeed).
import { randomUUID } from 'node:crypto';
import { recordAudit, schemaStatus, withMaintenance } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import {
  countAuditEntries,
  feedStart,
  formatFeedPosition,
  copyMoveEventGroups,
  insertMoveRows,
  moveAudit,
  moveDerived,
  movePlayers,
  moveSecrets,
  moveSessions,
  moveStart,
  parseFeedPosition,
  selectEventAtOrBefore,
  selectEventTransaction,
  selectMoveDigest,
  selectMoveEvents,
  selectMovePage,
  selectMoveRowsById,
  selectMoveSessionIds,
} from '../events/index.js';
import type { FeedPosition, MoveDigest, MoveEvent, MoveRow, MoveTable } from '../events/index.js';
import { AgateError } from '../errors/index.js';
import { announcePlacementChange, selectPlacement, updatePlacement } from '../placements/index.js';
import type { Placement, PlacementRouter, PlacementStore } from '../placements/index.js';
import {
  deleteFence,
  ensureTenantRow,
  insertMove,
  markDataElsewhere,
  markDataHere,
  putFence,
  selectFence,
  selectOpenMove,
  updateMove,
} from './move-records.js';
import type { MoveRecord } from './move-records.js';

/** What a move reports as it goes: a step, and the events copied so far. */
export type MoveProgress = {
  step: 'prepare' | 'copy' | 'fence' | 'verify' | 'switch' | 'switched' | 'derived' | 'done';
  events: number;
  message: string;
};

export type MoveTenantInput = {
  tenantId: string;
  to: Placement;
  router: PlacementRouter<PlacementStore>;
  actor: string;
  /** How long a held write waits at the fence before it is refused (retryable); default 2000. */
  fenceWaitMs?: number;
  /** How long the mover may take to get the fence (writes in flight to end); default 10000. */
  fenceLockMs?: number;
  /** Catch up without the fence until a round copies fewer events than this; default 500. */
  fenceBelow?: number;
  onProgress?: (progress: MoveProgress) => void;
};

export type MoveCounts = Record<string, number>;

export type MoveReport = {
  moveId: string;
  tenantId: string;
  source: Placement;
  target: Placement;
  step: 'switched';
  /** True when this run continued a move an earlier run had begun. */
  resumed: boolean;
  counts: MoveCounts;
  /** From asking for the fence to lifting it: the longest any held write could have waited. */
  fenceMs: number;
  verified: MoveDigest;
};

const pageSize = 1_000;

const placementOf = (text: string): Placement => text as Placement;

/** A dedicated connection in the tenant's context for the whole move (RLS holds there too). */
async function tenantClient(pool: Pool, tenantId: string): Promise<PoolClient> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT set_config('app.tenant_id', $1, false)`, [tenantId]);
    await client.query(`SET statement_timeout = 0`);
  } catch (error) {
    client.release(true);
    throw error;
  }
  return client;
}

async function requireUp(store: PlacementStore, placement: Placement): Promise<void> {
  const status = await schemaStatus(store.pool).catch(() => null);
  if (status === null || status.pending.length > 0) {
    throw new AgateError(
      'placement_unavailable',
      `Placement ${placement} ${status === null ? 'does not answer' : 'is behind on migrations (run agate migrate)'}; nothing was moved.`,
      { details: { placement } },
    );
  }
}

type Sides = { source: PoolClient; target: PoolClient; tenantId: string };

async function copyTable(sides: Sides, table: MoveTable, counts: MoveCounts): Promise<void> {
  for (const source of table.sources) {
    let after: readonly string[] | null = moveStart(table);
    while (after !== null) {
      const page = await selectMovePage(sides.source, table, source, {
        tenantId: sides.tenantId,
        after,
        limit: pageSize,
      });
      await insertMoveRows(sides.target, table, page.rows);
      counts[table.kind] = (counts[table.kind] ?? 0) + page.rows.length;
      after = page.next;
    }
  }
}

/** The copy of events in feed order, remembering which sessions the target already has. */
class EventCopier {
  readonly known = new Set<string>();
  copied = 0;
  position: FeedPosition;

  constructor(
    private readonly sides: Sides,
    from: FeedPosition,
  ) {
    this.position = from;
  }

  /**
   * Copies pages until one is short (with `horizon`: appends go on meanwhile, so the copy would
   * never run out) or empty (without: the fence holds every write); returns the events copied.
   */
  async round(horizon: boolean, onPage: () => void): Promise<number> {
    let copied = 0;
    for (;;) {
      const events = await selectMoveEvents(this.sides.source, {
        tenantId: this.sides.tenantId,
        after: this.position,
        limit: pageSize,
        horizon,
      });
      if (events.length === 0) return copied;
      await this.ensureSessions(events);
      const groups = byTransaction(events);
      await copyMoveEventGroups(this.sides.target, {
        tenantId: this.sides.tenantId,
        groups: groups.map((group) => ({
          rows: group.map((e) => e.row),
          through: formatFeedPosition(group.at(-1)?.position ?? this.position),
        })),
      });
      this.position = events.at(-1)?.position ?? this.position;
      copied += events.length;
      this.copied += events.length;
      onPage();
      if (horizon && events.length < pageSize) return copied;
    }
  }

  /** The sessions (their players and secrets first) that these events need on the target. */
  private async ensureSessions(events: readonly MoveEvent[]): Promise<void> {
    const ids = [...new Set(events.map((e) => e.position.sessionId))].filter(
      (id) => !this.known.has(id),
    );
    if (ids.length === 0) return;
    const { source, target, tenantId } = this.sides;
    const sessions = await selectMoveRowsById(source, moveSessions, { tenantId, ids });
    const players = [
      ...new Set(
        sessions.map((s) => s.player_id).filter((p): p is string => typeof p === 'string'),
      ),
    ];
    await insertMoveRows(
      target,
      movePlayers,
      await selectMoveRowsById(source, movePlayers, { tenantId, ids: players }),
    );
    await insertMoveRows(target, moveSessions, sessions);
    await insertMoveRows(
      target,
      moveSecrets,
      await selectMoveRowsById(source, moveSecrets, { tenantId, ids }),
    );
    for (const id of ids) this.known.add(id);
  }
}

function byTransaction(events: readonly MoveEvent[]): MoveEvent[][] {
  const groups: MoveEvent[][] = [];
  for (const event of events) {
    const current = groups.at(-1);
    if (current?.[0]?.position.transactionId === event.position.transactionId) {
      current.push(event);
    } else {
      groups.push([event]);
    }
  }
  return groups;
}

function digestsDiffer(a: MoveDigest, b: MoveDigest): string[] {
  const fields: (keyof MoveDigest)[] = [
    'sessions',
    'heads',
    'events',
    'counts',
    'anchors',
    'anchorDigest',
  ];
  return fields.filter((f) => a[f] !== b[f]);
}

/** Every audit entry of the tenant in the source is on the target; the count checked. */
async function auditEntriesMissing(sides: Sides): Promise<number> {
  let missing = 0;
  for (const source of moveAudit.sources) {
    let after: readonly string[] | null = moveStart(moveAudit);
    while (after !== null) {
      const page = await selectMovePage(sides.source, moveAudit, source, {
        tenantId: sides.tenantId,
        after,
        limit: pageSize,
      });
      const ids = page.rows.map((r) => String(r.id));
      const found = await countAuditEntries(sides.target, { tenantId: sides.tenantId, ids });
      missing += ids.length - found;
      after = page.next;
    }
  }
  return missing;
}

const consumersTable: MoveTable = {
  kind: 'consumer',
  sources: ['feed.consumers'],
  target: 'feed.consumers',
  key: [['id', 'uuid']],
};
const slotsTable: MoveTable = {
  kind: 'consumer_slot',
  sources: ['feed.consumer_slots'],
  target: 'feed.consumer_slots',
  key: [
    ['consumer_id', 'uuid'],
    ['slot', 'integer'],
  ],
};

/** The target position of a source checkpoint: that of the last event at or before it. */
async function remapCheckpoint(sides: Sides, checkpoint: FeedPosition): Promise<FeedPosition> {
  const event = await selectEventAtOrBefore(sides.source, {
    tenantId: sides.tenantId,
    position: checkpoint,
  });
  if (event === null) return feedStart;
  const transactionId = await selectEventTransaction(sides.target, {
    tenantId: sides.tenantId,
    ...event,
  });
  if (transactionId === null) {
    throw new AgateError(
      'integrity_violation',
      `Event ${event.sequence} of session ${event.sessionId} is not on the target although the copy passed it; nothing was switched. Rerun the move.`,
    );
  }
  return { transactionId, ...event };
}

/**
 * The feed consumers (server-side checkpoints) the target does not have yet, with their slots'
 * checkpoints remapped into the target's feed; one the target's own consumers already keep under
 * the same name is left as the target has it (its checkpoint is the target's already).
 */
async function copyConsumers(sides: Sides, counts: MoveCounts): Promise<void> {
  const { source, target, tenantId } = sides;
  const consumers: MoveRow[] = [];
  for (let after: readonly string[] | null = moveStart(consumersTable); after !== null;) {
    const page = await selectMovePage(source, consumersTable, 'feed.consumers', {
      tenantId,
      after,
      limit: pageSize,
    });
    consumers.push(...page.rows);
    after = page.next;
  }
  await insertMoveRows(target, consumersTable, consumers);
  const kept = new Set(
    (
      await selectMoveRowsById(target, consumersTable, {
        tenantId,
        ids: consumers.map((c) => String(c.id)),
      })
    ).map((c) => String(c.id)),
  );
  counts.consumer = kept.size;
  // Members are the source's processes, not the target's: they are not carried over.
  const table = slotsTable;
  for (let after: readonly string[] | null = moveStart(table); after !== null;) {
    const page = await selectMovePage(source, table, table.sources[0] ?? '', {
      tenantId,
      after,
      limit: pageSize,
    });
    const rows: MoveRow[] = [];
    for (const row of page.rows) {
      if (!kept.has(String(row.consumer_id))) continue;
      const mapped = await remapCheckpoint(sides, {
        transactionId: String(row.checkpoint_transaction),
        sessionId: String(row.checkpoint_session),
        sequence: Number(row.checkpoint_sequence),
      });
      // The lease was the source's: a member here claims the slot at once, not at its expiry.
      rows.push({
        ...row,
        owner: null,
        lease_expires_at: null,
        checkpoint_transaction: mapped.transactionId,
        checkpoint_session: mapped.sessionId,
        checkpoint_sequence: mapped.sequence,
      });
    }
    await insertMoveRows(target, table, rows);
    counts[table.kind] = (counts[table.kind] ?? 0) + rows.length;
    after = page.next;
  }
}

/** The fence key's advisory lock, session-level on the mover's source connection. */
const fenceKey = `hashtextextended('agate.fence:' || $1::text, 0)`;

/**
 * Moves `tenantId` to `to` and switches its placement; the source keeps its rows, read-only,
 * until `finishMove`. Rerun after a failure or a kill, it resumes the open move.
 */
export async function moveTenant(input: MoveTenantInput): Promise<MoveReport> {
  const { tenantId, to, router, actor } = input;
  const control = router.control.pool;
  const progress = input.onProgress ?? (() => undefined);
  const stored = await withMaintenance(control, (tx) => selectPlacement(tx, tenantId));
  if (stored === undefined) {
    throw new AgateError('tenant_not_found', `No tenant ${tenantId}; check the tenant id.`);
  }
  const current = placementOf(stored);
  let open = await selectOpenMove(control, tenantId);
  if (open?.step === 'switched') {
    throw new AgateError(
      'invalid_request',
      `Tenant ${tenantId} was moved from ${open.source} to ${open.target} (move ${open.id}) and that move is not finished; run agate tenants move ${tenantId} --finish first.`,
    );
  }
  if (open !== undefined && open.target !== to) {
    throw new AgateError(
      'invalid_request',
      `A move of tenant ${tenantId} to ${open.target} is in progress (move ${open.id}); rerun it with --to ${open.target}, or roll it back with --abort.`,
    );
  }
  if (open === undefined && current === to) {
    throw new AgateError('invalid_request', `Tenant ${tenantId} is already on ${to}.`);
  }
  const source = placementOf(open?.source ?? current);
  const sourceStore = router.agateOf(source);
  const targetStore = router.agateOf(to);
  await requireUp(sourceStore, source);
  await requireUp(targetStore, to);
  const resumed = open !== undefined;
  if (open === undefined) {
    const id = randomUUID();
    if (!(await insertMove(control, { id, tenantId, source, target: to }))) {
      throw new AgateError(
        'invalid_request',
        `Another move of tenant ${tenantId} started just now; rerun to see it.`,
      );
    }
    await recordAudit(control, {
      tenantId,
      actor,
      action: 'tenant.move.started',
      subject: id,
      details: { source, target: to },
    });
    open = await selectOpenMove(control, tenantId);
  }
  if (open === undefined) throw new Error('the move record vanished');
  const move: MoveRecord = open;

  const sides: Sides = {
    source: await tenantClient(sourceStore.pool, tenantId),
    target: await tenantClient(targetStore.pool, tenantId),
    tenantId,
  };
  const counts: MoveCounts = {};
  // Switched: the target takes the tenant's writes; its derived rows follow from the frozen source.
  const afterSwitch = async (done: { fenceMs: number; verified: MoveDigest }) => {
    await deleteFence(sides.target, tenantId);
    await copyDerived(sides, counts, progress);
    await updateMove(control, move.id, { step: 'switched', counts });
    const report: MoveReport = {
      moveId: move.id,
      tenantId,
      source,
      target: to,
      step: 'switched',
      resumed,
      counts,
      ...done,
    };
    return report;
  };
  try {
    progress({ step: 'prepare', events: 0, message: `move ${move.id}: ${source} -> ${to}` });
    const sourceFence = await selectFence(sides.source, tenantId);
    const alreadyMoved = sourceFence?.state === 'moved' && sourceFence.moveId === move.id;
    let copier: EventCopier;
    if (!alreadyMoved) {
      await prepareTarget(control, sides, move, to);
      await putFence(sides.source, {
        tenantId,
        moveId: move.id,
        state: 'copying',
        placement: to,
        ...(input.fenceWaitMs === undefined ? {} : { waitMs: input.fenceWaitMs }),
      });
      await waitForEarlierWriters(sides.source);
      const arriving = await selectFence(sides.target, tenantId);
      const from =
        arriving?.copiedThrough == null
          ? feedStart
          : parseFeedPosition(arriving.copiedThrough, 'copied_through');
      // The copy commits each source transaction by itself; none of it counts until the switch,
      // and the first synchronous commit after it (below) makes all of it durable.
      await sides.target.query('SET synchronous_commit = off');
      copier = new EventCopier(sides, from);
      progress({ step: 'copy', events: 0, message: 'copying players and sessions' });
      for (const table of [movePlayers, moveSessions, moveSecrets]) {
        await copyTable(sides, table, counts);
      }
      for (const session of await selectMoveSessionIds(sides.target, tenantId)) {
        copier.known.add(session);
      }
      const report = () =>
        progress({
          step: 'copy',
          events: copier.copied,
          message: `${copier.copied} events copied`,
        });
      const fenceBelow = input.fenceBelow ?? 500;
      while ((await copier.round(true, report)) >= fenceBelow);

      // The fence: every write of the tenant in flight ends, every later one waits.
      await putFence(sides.source, { tenantId, moveId: move.id, state: 'fenced', placement: to });
      progress({ step: 'fence', events: copier.copied, message: 'holding the tenant’s writes' });
      const fenceStart = performance.now();
      await sides.source.query(`SET lock_timeout = ${Math.trunc(input.fenceLockMs ?? 10_000)}`);
      await sides.source.query(`SELECT pg_advisory_lock(${fenceKey})`, [tenantId]);
      await sides.source.query('SET lock_timeout = 0');
      await copier.round(false, report);
      await sides.target.query('SET synchronous_commit = on');
      for (const table of [movePlayers, moveSessions, moveSecrets, moveAudit]) {
        await copyTable(sides, table, counts);
      }
      progress({
        step: 'verify',
        events: copier.copied,
        message: 'verifying heads, counts, anchors',
      });
      const verified = await verifySides(sides);
      await copyConsumers(sides, counts);
      // From here the source refuses the tenant's writes; the rest completes on a rerun.
      await putFence(sides.source, { tenantId, moveId: move.id, state: 'moved', placement: to });
      if (source !== 'shared') await markDataElsewhere(sides.source, tenantId, notHere(source, to));
      if (to !== 'shared') await markDataHere(sides.target, tenantId);
      progress({
        step: 'switch',
        events: copier.copied,
        message: 'the source refuses the tenant’s writes; switching its placement',
      });
      counts.event = copier.copied;
      await switchPlacement(control, { move, to, actor, counts, verified });
      await sides.source.query(`SELECT pg_advisory_unlock(${fenceKey})`, [tenantId]);
      const fenceMs = Math.round(performance.now() - fenceStart);
      await updateMove(control, move.id, { step: 'switched', longestFenceMs: fenceMs });
      progress({
        step: 'switched',
        events: copier.copied,
        message: `fence held ${fenceMs} ms`,
      });
      return await afterSwitch({ fenceMs, verified });
    }
    // Killed after the source refused the tenant's writes and before the switch: the data is
    // complete on the target and nothing writes either side; verify again and switch.
    progress({ step: 'verify', events: 0, message: 'resuming after the fence: verifying again' });
    const verified = await verifySides(sides);
    if (to !== 'shared') await markDataHere(sides.target, tenantId);
    await switchPlacement(control, { move, to, actor, counts, verified });
    await updateMove(control, move.id, { step: 'switched' });
    return await afterSwitch({ fenceMs: 0, verified });
  } finally {
    // Connections in the tenant's context are not reused; ending the source's lifts the fence
    // lock whatever happened.
    sides.source.release(true);
    sides.target.release(true);
  }
}

async function prepareTarget(
  control: Pool,
  sides: Sides,
  move: MoveRecord,
  to: Placement,
): Promise<void> {
  const { target, tenantId } = sides;
  if (to !== 'shared') await ensureTenantRow(control, target, tenantId);
  const arriving = await selectFence(target, tenantId);
  if (arriving?.moveId !== move.id) {
    if ((await selectMoveSessionIds(target, tenantId)).length > 0) {
      throw new AgateError(
        'invalid_request',
        `Placement ${to} still holds rows of tenant ${tenantId} from an earlier stay that was never finished or rolled back; nothing was moved.`,
      );
    }
  }
  await putFence(target, { tenantId, moveId: move.id, state: 'arriving', placement: to });
  // Not the tenant's data yet: the target's consumers and nightly pass it over until the switch.
  if (to !== 'shared') await markDataElsewhere(target, tenantId, notHere(to, move.source));
}

/**
 * What a placement database's own admin.tenant_placements says of a tenant whose data is not in
 * it: any placement but `shared` (ADR 0032); the other side of the move, or itself.
 */
function notHere(here: Placement, other: string): string {
  return other === 'shared' ? here : other;
}

/**
 * Waits (bounded) until no transaction that began before the fence row existed is open. A
 * write's check reads the fence row with its statement's snapshot, so a REPEATABLE READ
 * transaction begun before the row existed would never see it, take no share of the fence, and
 * write through it; every transaction begun later sees the row. Read-only ones are waited for
 * too: nothing tells a transaction that will not write from one that has not written yet.
 */
export async function waitForEarlierWriters(source: PoolClient): Promise<void> {
  const since = await source.query<{ now: Date }>('SELECT now() AS now');
  const t0 = since.rows[0]?.now;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await source.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start < $1`,
      [t0],
    );
    if (Number(r.rows[0]?.n ?? 0) === 0) return;
    if (Date.now() > deadline) {
      throw new AgateError(
        'timeout',
        'Transactions older than the move kept running for 30 s in the source database; rerun the move when they have ended (pg_stat_activity shows them).',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function verifySides(sides: Sides): Promise<MoveDigest> {
  const [source, target] = [
    await selectMoveDigest(sides.source, sides.tenantId),
    await selectMoveDigest(sides.target, sides.tenantId),
  ];
  const differ = digestsDiffer(source, target);
  const missing = await auditEntriesMissing(sides);
  if (differ.length > 0 || missing > 0) {
    throw new AgateError(
      'integrity_violation',
      `The copy on the target differs from the source (${[...differ, ...(missing > 0 ? [`${missing} audit entries missing`] : [])].join(', ')}); nothing was switched and the tenant stays where it was. Rerun the move, or roll it back with --abort.`,
      { details: { differ, missingAuditEntries: missing, source, target } },
    );
  }
  return source;
}

async function switchPlacement(
  control: Pool,
  input: {
    move: MoveRecord;
    to: Placement;
    actor: string;
    counts: MoveCounts;
    verified: MoveDigest;
  },
): Promise<void> {
  const { move, to } = input;
  const client = await control.connect();
  try {
    await client.query('BEGIN');
    await updateMove(client, move.id, { step: 'switched', counts: input.counts });
    await client.query(`SELECT set_config('role', 'agate_maintenance', true)`);
    await updatePlacement(client, move.tenantId, to);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await announcePlacementChange(control, move.tenantId);
  await recordAudit(control, {
    tenantId: move.tenantId,
    actor: input.actor,
    action: 'tenant.move.switched',
    subject: move.id,
    details: {
      source: move.source,
      target: to,
      sessions: input.verified.sessions,
      events: input.verified.events,
    },
  });
}

async function copyDerived(
  sides: Sides,
  counts: MoveCounts,
  progress: (p: MoveProgress) => void,
): Promise<void> {
  progress({ step: 'derived', events: 0, message: 'copying snapshots, analytics rows, findings' });
  for (const table of moveDerived) await copyTable(sides, table, counts);
  progress({ step: 'done', events: 0, message: 'run --finish to remove the source’s rows' });
}
