import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, whenReady } from '../../src/cache/index.js';
import { runCli } from '../support/run-cli.js';
import type { CliResult } from '../support/run-cli.js';
import { closeRedis, redisUrl } from '../support/redis.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

// Run the built binary: `npm run build` first.

type DemoJson = {
  tenantId: string;
  sessions: { index: number; id: string; events: number; stateHash: string; verified: boolean }[];
  snapshots: number;
  verified: number;
  divergences: unknown[];
  replaysEqual: boolean;
  retriedBatches: number;
  queue: boolean;
  leaderboard: { sessionId: string; score: number; rank: number }[];
};

function parsed(r: CliResult): DemoJson {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as DemoJson;
}

/** What must not depend on the database, the machine or the run: per session, by index. */
const hashes = (d: DemoJson) => d.sessions.map((s) => [s.index, s.events, s.stateHash]);

function expectAllVerified(d: DemoJson, sessions: number): void {
  expect(d.sessions).toHaveLength(sessions);
  expect(d.sessions.every((s) => s.verified)).toBe(true);
  expect(d.verified).toBe(sessions);
  expect(d.divergences).toEqual([]);
  expect(d.replaysEqual).toBe(true);
  expect(d.snapshots).toBeGreaterThan(sessions);
  expect(d.retriedBatches).toBeGreaterThan(0);
  expect(d.leaderboard.length).toBe(Math.min(5, sessions));
}

// DATABASE_URL is unset: runCli passes only PATH and the variables given here.
let embedded: DemoJson;
beforeAll(async () => {
  embedded = parsed(await runCli(['demo', '--memory', '--json', '--sessions', '8'], {}));
});

describe('agate demo on the embedded database (DATABASE_URL unset)', () => {
  it('verifies every session with no divergence, as the README runs it', () => {
    expectAllVerified(embedded, 8);
    expect(embedded.queue).toBe(false);
    expect(new Set(embedded.sessions.map((s) => s.stateHash)).size).toBe(8);
  });

  it('plays 50 sessions by default, the first eight hashing as in a run of eight', async () => {
    const full = parsed(await runCli(['demo', '--memory', '--json'], {}));
    expectAllVerified(full, 50);
    expect(hashes(full).slice(0, 8)).toEqual(hashes(embedded));
  });
});

describe('agate demo on PostgreSQL and Redis', () => {
  let db: TestDatabase;
  const queuePrefix = `agate-demo-test-${randomBytes(6).toString('hex')}`;
  const tenants: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase({ max: 2 });
  });
  afterAll(async () => {
    // The queue's keys, and the leaderboards and hot states the demo's tenants left in Redis.
    const raw = createRedis(redisUrl);
    await whenReady(raw);
    for (const pattern of [`${queuePrefix}:*`, ...tenants.map((t) => `agate:*${t}*`)]) {
      const keys = await raw.keys(pattern);
      if (keys.length > 0) await raw.del(...keys);
    }
    await closeRedis(raw);
    await db.drop();
  });

  it('gives the same state hashes and event counts as the embedded database for the seed, and records demo as the writer', async () => {
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl, AGATE_QUEUE_PREFIX: queuePrefix };
    const server = parsed(await runCli(['demo', '--json', '--sessions', '8'], env));
    tenants.push(server.tenantId);
    expectAllVerified(server, 8);
    expect(server.queue).toBe(true);
    expect(hashes(server)).toEqual(hashes(embedded));
    const multiset = (d: DemoJson) => d.sessions.map((s) => `${s.events}:${s.stateHash}`).sort();
    expect(multiset(server)).toEqual(multiset(embedded));
    expect(server.snapshots).toBe(embedded.snapshots);
    expect(server.sessions.map((s) => s.id)).not.toEqual(embedded.sessions.map((s) => s.id));
    const writers = await db.pool.query<{ w: string }>(
      `SELECT written_by AS w FROM game.events WHERE tenant_id = $1
        UNION SELECT written_by FROM game.sessions WHERE tenant_id = $1`,
      [server.tenantId],
    );
    expect(writers.rows).toEqual([{ w: 'demo' }]);
  });

  it('prints a summary with a replay command that works', async () => {
    const env = { DATABASE_URL: db.url };
    const r = await runCli(['demo', '--sessions', '2', '--seed', 'summary'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^agate demo, seed "summary": 2 bot players of archive-gate on /);
    expect(r.stdout).toMatch(/divergences {3}none/);
    const replay = /agate (replay \S+ --tenant (\S+) --verify)/.exec(r.stdout);
    expect(replay).not.toBeNull();
    tenants.push(replay?.[2] ?? '');
    const again = await runCli(replay?.[1]?.split(' ') ?? [], env);
    expect(again.code).toBe(0);
  });
});

describe('agate demo arguments', () => {
  it.each([['0'], ['abc'], ['-3'], ['2.5'], ['1001']])('exits 2 on --sessions %s', async (n) => {
    const r = await runCli(['--memory', 'demo', '--sessions', n], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sessions must be a whole number from 1 to 1000/);
    expect(r.stdout).toBe('');
  });
});
