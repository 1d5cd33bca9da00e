import { spawn } from 'node:child_process';
import { setTimeout as pause } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { replaySession } from '../../replay/index.js';
import { leaderboardKey, readHotState, rebuildLeaderboard } from '../../src/cache/index.js';
import { createEventStore, listSessionSnapshots } from '../../src/events/index.js';
import type { EventStore, NewEvent } from '../../src/events/index.js';
import { startAgateConsumers } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestRedis, redisUrl } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { repoRoot } from '../support/run-cli.js';
import { slowSnapshotWrites } from '../support/slow-snapshots.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

// The proof for derived data: a worker running agate's own consumers is SIGKILLed while
// sessions are appended; after a restart and idle(), snapshots, hot state, the leaderboard and
// analytics.events equal a rebuild from the log.
const childEntry = fileURLToPath(new URL('../support/consumers-child.ts', import.meta.url));
const sessionCount = 8;
const eventsPerSession = 130;

let db: TestDatabase;
let store: EventStore;
let tenantId: string;
let cache: TestRedis;

beforeAll(async () => {
  db = await createTestDatabase({ max: 12 });
  store = createEventStore({ pool: db.pool, catalog: tinyGames.eventTypes });
  tenantId = (await createTenant(db.pool, { name: 'derived crash', actor: 'test' })).id;
  cache = createTestRedis('derived-crash');
  // Each snapshot insert takes 50 ms longer, so the kill surely lands with work in flight.
  await slowSnapshotWrites(db.pool, 0.05);
});
afterAll(async () => {
  await cache.close();
  await db.drop();
});

/** Counters, dice (server seeds), old versions and a day end every 17 events. */
function eventAt(n: number): NewEvent {
  if (n % 17 === 0) return { type: 'note.written', version: 1, data: { text: `day ${n}` } };
  if (n % 7 === 0) return { type: 'dice.rolled', version: 1, data: { sides: 20 } };
  if (n % 2 === 0) return { type: 'counter.incremented', version: 1, data: { by: n } };
  return { type: 'counter.incremented', version: 2, data: { by: n, note: 'n' } };
}

type Child = { ready: Promise<void>; exited: Promise<unknown>; kill(signal: NodeJS.Signals): void };

function spawnConsumers(member: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childEntry], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      AGATE_REDIS_PREFIX: cache.prefix,
      AGATE_MEMBER: member,
      AGATE_LEASE_MS: '1500',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    void exited.then(() => reject(new Error(`consumers child exited: ${stderr}`)));
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { ready, exited, kill: (signal) => child.kill(signal) };
}

/** Polls a condition (not a fixed sleep) until it holds, for at most `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await pause(25);
  }
}

async function snapshotCount(): Promise<number> {
  const r = await db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM game.snapshots WHERE tenant_id = $1',
    [tenantId],
  );
  return r.rows[0]?.n ?? 0;
}

/** Appends each session's events in batches of 1 to 9, `concurrently` sessions at once. */
async function play(sessionIds: readonly string[], from: number, to: number): Promise<void> {
  await Promise.all(
    sessionIds.map(async (sessionId, s) => {
      let n = from;
      while (n < to) {
        const size = Math.min(to - n, 1 + ((n + s) % 9));
        const events = Array.from({ length: size }, (_, i) => eventAt(n + i + 1));
        const result = await store.appendEvents({ tenantId, sessionId, events });
        expect(result.ok).toBe(true);
        n += size;
      }
    }),
  );
}

/** Every snapshot the log calls for, by session: each 50th event and each day end. */
function expectedSnapshots(): number[] {
  const found: number[] = [];
  for (let n = 1; n <= eventsPerSession; n += 1) {
    if (n % 50 === 0 || eventAt(n).type === 'note.written') found.push(n);
  }
  return found;
}

describe('derived data after the worker running the consumers is SIGKILLed', () => {
  it('equals a rebuild from the log once a restarted member is idle', async () => {
    const ids = await Promise.all(
      Array.from({ length: sessionCount }, async () => {
        const s = await store.createSession({ tenantId, rules: 'tiny' });
        return s.id;
      }),
    );
    const first = spawnConsumers('worker-1');
    await first.ready;
    const half = Math.floor(eventsPerSession / 2);
    // Killed once it has written some of the snapshots, while appends go on; the rest of the
    // first half is appended after the kill, so snapshots are due that no member wrote (the
    // consumer writes a batch's snapshots in one commit: it may have caught up at the kill).
    const early = 40;
    const playing = play(ids, 0, early);
    await waitFor('the first snapshots', async () => (await snapshotCount()) >= 3);
    first.kill('SIGKILL');
    await first.exited;
    await playing;
    await play(ids, early, half);
    const atKill = await snapshotCount();
    expect(atKill).toBeLessThan(expectedSnapshots().filter((n) => n <= half).length * sessionCount);

    await play(ids, half, eventsPerSession);
    for (const sessionId of ids.filter((_, i) => i % 2 === 0)) {
      expect((await store.endSession({ tenantId, sessionId })).ok).toBe(true);
    }

    const restarted = startAgateConsumers(
      { pool: db.pool, games: tinyGames },
      {
        redis: { client: cache.redis, health: cache.health },
        member: 'worker-2',
        leaseMs: 1_500,
        pollMs: 50,
      },
    );
    try {
      await restarted.idle();
    } finally {
      await restarted.stop();
    }

    const deps = { pool: db.pool, games: tinyGames };
    const { redis, health } = cache;
    for (const [i, sessionId] of ids.entries()) {
      const ref = { tenantId, sessionId };
      const ended = i % 2 === 0;
      const snaps = (await listSessionSnapshots(deps, ref)).sort((a, b) => a.sequence - b.sequence);
      expect(snaps.map((s) => s.sequence)).toEqual(expectedSnapshots());
      for (const snap of snaps) {
        const at = await replaySession(deps, { ...ref, to: snap.sequence, from: 'genesis' });
        expect(snap.stateHash).toBe(at.stateHash);
      }
      const head = await replaySession(deps, { ...ref, from: 'genesis' });
      expect(head.sequence).toBe(eventsPerSession + (ended ? 1 : 0));
      expect(await readHotState(redis, health, ref)).toEqual({
        sequence: head.sequence,
        stateHash: head.stateHash,
        state: head.state,
      });
      // agate.analytics (transactional): one row per event, none twice.
      const rows = await db.pool.query<{ n: number; distinct: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT sequence)::int AS distinct
           FROM analytics.events WHERE session_id = $1`,
        [sessionId],
      );
      expect(rows.rows[0]).toEqual({ n: head.sequence, distinct: head.sequence });
    }
    const board = await redis.zrevrange(leaderboardKey(tenantId, 'tiny'), 0, -1, 'WITHSCORES');
    const rebuilt = await rebuildLeaderboard(deps, redis, health, { tenantId, rules: 'tiny' });
    const fromBoard = [];
    for (let i = 0; i < board.length; i += 2) {
      fromBoard.push({ sessionId: board[i], score: Number(board[i + 1]) });
    }
    const byId = (a: { sessionId?: string }, b: { sessionId?: string }) =>
      String(a.sessionId).localeCompare(String(b.sessionId));
    expect(fromBoard.sort(byId)).toEqual(
      rebuilt.scores.map((s) => ({ sessionId: s.sessionId, score: s.score })).sort(byId),
    );
    expect(fromBoard).toHaveLength(sessionCount / 2);
  }, 180_000);
});
