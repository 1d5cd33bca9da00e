import { setTimeout as pause } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createApiMetrics } from '../../src/api/metrics.js';
import { createCacheHealth } from '../../src/cache/index.js';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';
import {
  deliveredBeforeLowerCommit,
  lateCommits,
  placed,
  projectionDdl,
  readPositions,
  readProjection,
} from './support/feed-proof-checks.js';
import { errorsOf, killMember, runChaos, startMember } from './support/feed-proof-members.js';
import type { GroupEnv, Member } from './support/feed-proof-members.js';
import { createLedger, runWriters } from './support/feed-proof-writers.js';
import type { WriterPlan } from './support/feed-proof-writers.js';
import { killLeftoverChildren, waitFor } from './support/jobs-processes.js';
import { scaled } from './support/soak.js';

/**
 * The feed never skips (issue 16, "What proves it"): 64 writers append through the real append
 * path, a seeded share of them inside transactions held open before they commit or roll back,
 * so transactions commit out of the order of their ids, while two consumer groups of three
 * child processes each are SIGKILLed, restarted and SIGSTOPped past their lease. A naive reader
 * of `position > checkpoint` runs alongside to show the hazard is real. AGATE_FEED_SEED reruns a
 * schedule; `npm run test:soak` runs the heavy variant.
 */
const seed = process.env.AGATE_FEED_SEED ?? 'feed-adversarial-1';
const leaseMs = 1_000;
const consumers = ['proof-a', 'proof-b'] as const;
const membersPerConsumer = 3;
const sessionCount = 200;
/** Each test's budget: the soak variant writes and delivers about fifteen times as much. */
const testTimeout = scaled(300_000, 1_200_000);
const basePlan = {
  writers: 64,
  heldShare: 0.35,
  rollbackShare: 0.2,
  maxHoldMs: 600,
  maxGapMs: 150,
};

let db: TestDatabase;
let writerPool: Pool;
let agate: Agate;
let tenantId: string;
let env: GroupEnv;
const ledger = createLedger();
const members: Member[] = [];
const sessions: { tenantId: string; sessionId: string }[] = [];
const otherTargets: { tenantId: string; sessionId: string }[] = [];
let otherSessions: string[] = [];

const finished = (cleanup: () => void) => onTestFinished(cleanup);

async function newSessions(tenant: string, count: number) {
  const made = [];
  for (let i = 0; i < count; i += 1) {
    const s = await agate.store.createSession({ tenantId: tenant, rules: 'tiny', seed: `s${i}` });
    made.push({ tenantId: tenant, sessionId: s.id });
  }
  return made;
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(projectionDdl);
  writerPool = createPool({ connectionString: db.url, max: 40, applicationName: 'proof-writers' });
  agate = createAgate({ pool: writerPool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'feed proof', actor: 'test' })).id;
  const other = (await createTenant(db.pool, { name: 'feed proof other', actor: 'test' })).id;
  sessions.push(...(await newSessions(tenantId, sessionCount)));
  otherTargets.push(...(await newSessions(other, 10)));
  otherSessions = otherTargets.map((s) => s.sessionId);
  // One plain append per session first: the store's rules cache is warm, so a held append needs
  // no second connection, and the writers then share 40 connections without starving.
  const warm = { ...basePlan, seed: `${seed}-warm`, writers: 1, heldShare: 0, maxGapMs: 0 };
  await Promise.all(
    [...sessions, ...otherTargets].map((target, i) =>
      runWriters(
        agate.store,
        writerPool,
        { ...warm, seed: `${warm.seed}-${i}`, appendsPerWriter: 1, sessions: [target] },
        ledger,
      ),
    ),
  );
  env = {
    DATABASE_URL: db.url,
    AGATE_TENANT: tenantId,
    AGATE_LEASE_MS: String(leaseMs),
    AGATE_SLOTS: '16',
  };
  for (const consumer of consumers) {
    for (let m = 1; m <= membersPerConsumer; m += 1) {
      members.push({
        consumer,
        name: `${consumer}-m${m}`,
        incarnation: 0,
        child: null,
        history: [],
      });
    }
  }
  await Promise.all(members.map((m) => startMember(m, env, () => undefined)));
});

afterAll(async () => {
  killLeftoverChildren();
  await writerPool?.end();
  await db?.drop();
});

/** The slots of a consumer that a member owns now (read as the owner, across RLS). */
async function slotsOf(consumer: string, member: string): Promise<number[]> {
  const r = await db.pool.query<{ slot: number }>(
    `SELECT s.slot FROM feed.consumer_slots s JOIN feed.consumers c ON c.id = s.consumer_id
      WHERE c.name = $1 AND s.owner = $2 AND s.lease_expires_at > now() ORDER BY 1`,
    [consumer, member],
  );
  return r.rows.map((row) => row.slot);
}

/** Committed events of the tenant under test (the other tenant's are never delivered here). */
function committedIds(): Set<string> {
  return new Set(
    [...ledger.committed.values()].filter((c) => c.tenantId === tenantId).map((c) => c.eventId),
  );
}

async function deliveredCounts(): Promise<Map<string, number>> {
  const r = await db.pool.query<{ consumer: string; n: number }>(
    'SELECT consumer, count(*)::int AS n FROM proof.projection GROUP BY 1',
  );
  return new Map(r.rows.map((row) => [row.consumer, row.n]));
}

async function waitUntilDelivered(
  what: string,
  timeoutMs = scaled(90_000, 600_000),
): Promise<void> {
  const want = committedIds().size;
  try {
    await waitFor(
      what,
      async () => {
        const counts = await deliveredCounts();
        return consumers.every((c) => counts.get(c) === want);
      },
      timeoutMs,
    );
  } catch (error) {
    const counts = JSON.stringify([...(await deliveredCounts())]);
    const states = members.map(
      (m) => `${m.name}#${m.incarnation}: ${JSON.stringify(errorsOf(m).slice(-3))}`,
    );
    throw new Error(`${String(error)}; want ${want}, have ${counts}\n${states.join('\n')}`, {
      cause: error,
    });
  }
}

/** A reader without the horizon: every committed event past its checkpoint, as naive feeds read. */
function startNaiveReader(stop: () => boolean): Promise<Set<string>> {
  const seen = new Set<string>();
  let after = { xid: '0', sessionId: '00000000-0000-0000-0000-000000000000', sequence: 0 };
  return (async () => {
    for (let last = false; !last;) {
      last = stop();
      const r = await db.pool.query<{
        event_id: string;
        xid: string;
        session_id: string;
        sequence: number;
      }>(
        `SELECT event_id, transaction_id::text AS xid, session_id, sequence FROM game.events
          WHERE tenant_id = $1 AND (transaction_id, session_id, sequence) > ($2::xid8, $3::uuid, $4)
          ORDER BY transaction_id, session_id, sequence LIMIT 1000`,
        [tenantId, after.xid, after.sessionId, after.sequence],
      );
      for (const e of r.rows) seen.add(e.event_id);
      const end = r.rows.at(-1);
      if (end !== undefined)
        after = { xid: end.xid, sessionId: end.session_id, sequence: end.sequence };
      if (r.rows.length < 1000) await pause(10);
    }
    return seen;
  })();
}

/** Every check that must hold for each consumer after a run; returns the rows read. */
async function expectNothingSkippedOrRepeated(): Promise<void> {
  const rows = await readProjection(db.pool);
  const positions = await readPositions(db.pool);
  const committed = committedIds();
  for (const consumer of consumers) {
    const mine = rows.filter((r) => r.consumer === consumer);
    const ids = mine.map((r) => r.eventId);
    // Every committed event, once (the unique key would refuse a second effect; count it anyway).
    expect(new Set(ids).size, consumer).toBe(ids.length);
    expect(new Set(ids), consumer).toEqual(committed);
    expect(
      ids.filter((id) => ledger.rolledBack.has(id)),
      consumer,
    ).toEqual([]);
    expect(
      mine.filter((r) => r.tenantId !== tenantId || otherSessions.includes(r.sessionId)),
    ).toEqual([]);
    // Per-session order: in the order the rows were written, each session's sequences rise by one.
    const next = new Map<string, number>();
    const outOfOrder = mine.filter((r) => {
      const expected = (next.get(r.sessionId) ?? 0) + 1;
      next.set(r.sessionId, r.sequence);
      return r.sequence !== expected;
    });
    expect(outOfOrder, consumer).toEqual([]);
    // No zombie: every row was written while its member owned the slot (the checkpoint in the
    // same transaction locked the slot row), and per slot the owning epoch never goes back.
    expect(
      mine.filter((r) => r.owner !== r.member),
      consumer,
    ).toEqual([]);
    const lastEpoch = new Map<number, number>();
    const backwards = [...mine]
      .sort((a, b) => a.stampedAt - b.stampedAt || a.id - b.id)
      .filter((r) => {
        const before = lastEpoch.get(r.slot) ?? 0;
        lastEpoch.set(r.slot, Math.max(before, r.epoch ?? 0));
        return (r.epoch ?? 0) < before;
      });
    expect(backwards, consumer).toEqual([]);
  }
  // The stored log is the ledger: nothing rolled back is stored, everything committed is.
  const stored = [...positions.keys()];
  expect(stored.filter((id) => ledger.rolledBack.has(id))).toEqual([]);
  expect(new Set(stored)).toEqual(new Set(ledger.committed.keys()));
  const inOrder = placed(ledger, positions).filter((e) => e.tenantId === tenantId);
  // The safety itself: no event was delivered before every lower transaction had committed.
  expect(deliveredBeforeLowerCommit(inOrder, rows)).toBe(0);
}

describe('the feed under adversarial commit order', () => {
  it(
    'delivers every committed event once, in session order, with no zombie write, while members are killed and paused',
    async () => {
      const plan: WriterPlan = {
        ...basePlan,
        seed,
        appendsPerWriter: scaled(4, 40),
        sessions: [...sessions, ...otherTargets],
        // Writes go on until the chaos is over, so that every kill and pause meets work in flight.
        keepGoing: () => chaosRunning,
      };
      let chaosRunning = true;
      let writing = true;
      const naive = startNaiveReader(() => !writing);
      const restart = (m: Member) => startMember(m, env, finished);
      const [, chaos] = await Promise.all([
        runWriters(agate.store, writerPool, plan, ledger).finally(() => (writing = false)),
        runChaos(
          members,
          { seed, actions: scaled(6, 40), leaseMs, maxGapMs: 600 },
          restart,
          slotsOf,
        ).finally(() => (chaosRunning = false)),
      ]);
      const seenByNaive = await naive;
      await waitUntilDelivered('both consumers to deliver every committed event');
      await expectNothingSkippedOrRepeated();

      const positions = await readPositions(db.pool);
      const inOrder = placed(ledger, positions).filter((e) => e.tenantId === tenantId);
      // The hazard happened: transactions committed after higher ones, and a naive reader lost some.
      expect(lateCommits(inOrder)).toBeGreaterThan(0);
      const missedByNaive = [...committedIds()].filter((id) => !seenByNaive.has(id));
      expect(missedByNaive.length).toBeGreaterThan(0);
      expect(ledger.rolledBack.size).toBeGreaterThan(0);
      expect(chaos.kills + chaos.pauses.length).toBe(scaled(6, 40));
      // The pauses outlived the lease: every slot a paused member owned was another's when it woke.
      expect(chaos.pauses.filter((p) => p.ownedAtContinue.length > 0)).toEqual([]);
      expect(chaos.pauses.some((p) => p.ownedAtStop.length > 0)).toBe(true);
      const gaps = members.flatMap((m) => errorsOf(m).filter((e) => e.error === 'feed_gap'));
      expect(gaps).toEqual([]);
      console.info(
        `feed-adversarial: ${committedIds().size} committed, ${ledger.rolledBack.size} rolled back, ${ledger.refused} refused, ${lateCommits(inOrder)} late commits, naive reader missed ${missedByNaive.length}, ${chaos.kills} kills, ${chaos.pauses.length} pauses`,
      );
    },
    testTimeout,
  );

  it(
    'stalls delivery while an unrelated write transaction is open, names it in the stall metric, then delivers everything',
    async () => {
      const holder = new pg.Client({ connectionString: db.url, application_name: 'proof-stall' });
      await holder.connect();
      onTestFinished(() => holder.end());
      const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
        .pid;
      await holder.query('BEGIN');
      await holder.query("INSERT INTO proof.scratch (note) VALUES ('held open')");
      const xid = BigInt(
        (await holder.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0]!.x,
      );
      const before = committedIds().size;
      const burst: WriterPlan = {
        ...basePlan,
        seed: `${seed}-stall`,
        writers: 16,
        appendsPerWriter: 3,
        maxGapMs: 50,
        sessions,
      };
      await runWriters(agate.store, writerPool, burst, ledger);
      expect(committedIds().size).toBeGreaterThan(before);

      const metrics = createApiMetrics({
        pool: db.pool,
        cacheHealth: createCacheHealth(),
        logger: pino({ level: 'silent' }),
      });
      const stallAge = async () => {
        const gauge = await metrics.registry
          .getSingleMetric('agate_feed_oldest_transaction_age_seconds')!
          .get();
        const mine = gauge.values.find((v) => v.labels.application_name === 'proof-stall');
        if (mine === undefined) return undefined;
        expect(mine.labels).toMatchObject({ pid: String(pid), database: db.name, kind: 'backend' });
        return mine.value;
      };
      let first: number | undefined;
      await waitFor('the stall metric to name the open transaction', async () => {
        first = await stallAge();
        return first !== undefined;
      });
      // While the consumers poll for two more seconds of its age, nothing past it is delivered.
      await waitFor(
        'the stall to grow by two seconds',
        async () => ((await stallAge()) ?? 0) > first! + 2,
      );
      const past = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM proof.projection WHERE position_xid > $1::text::xid8',
        [String(xid)],
      );
      expect(past.rows[0]?.n).toBe(0);
      const waiting = await db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM game.events WHERE tenant_id = $1 AND transaction_id > $2::text::xid8',
        [tenantId, String(xid)],
      );
      expect(waiting.rows[0]?.n).toBeGreaterThan(0);

      await holder.query('COMMIT');
      await waitUntilDelivered(
        'delivery to resume once the transaction ended',
        scaled(60_000, 300_000),
      );
      expect(await stallAge()).toBeUndefined();
      await expectNothingSkippedOrRepeated();
    },
    testTimeout,
  );

  it(
    'applies a batch once when its member is killed between the handler and the checkpoint commit',
    async () => {
      const member: Member = {
        consumer: 'proof-once',
        name: 'proof-once-m1',
        incarnation: 0,
        child: null,
        history: [],
      };
      await startMember(member, { ...env, AGATE_HANG_AFTER_HANDLER: '1' }, finished);
      await waitFor('the handler to have written its rows', () =>
        Promise.resolve(/^handled$/m.test(member.child!.output())),
      );
      const uncommitted = await db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM proof.projection WHERE consumer = 'proof-once'",
      );
      expect(uncommitted.rows[0]?.n).toBe(0);
      await killMember(member);
      await startMember(member, env, finished);
      const want = committedIds();
      await waitFor(
        'the restarted member to deliver every event',
        async () => {
          const r = await db.pool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM proof.projection WHERE consumer = 'proof-once'",
          );
          return r.rows[0]?.n === want.size;
        },
        scaled(60_000, 600_000),
      );
      const rows = (await readProjection(db.pool)).filter((r) => r.consumer === 'proof-once');
      expect(new Set(rows.map((r) => r.eventId))).toEqual(want);
      expect(rows.every((r) => r.incarnation === 2)).toBe(true);
      await killMember(member);
    },
    testTimeout,
  );
});
