import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { analyticsConsumer, writeAnalyticsRows } from '../../src/analytics/index.js';
import type { AnalyticsRow } from '../../src/analytics/index.js';
import { withTenant } from '../../src/db/index.js';
import { feedStart, readFeed } from '../../src/events/index.js';
import type { FeedEvent, FeedPosition } from '../../src/events/index.js';
import { startConsumer } from '../../src/feed/index.js';
import type { ConsumerDefinition } from '../../src/feed/index.js';
import { createGameCatalog } from '../../src/game/index.js';
import type { GameCatalog } from '../../src/game/index.js';
import { createPlayer } from '../../src/players/index.js';
import { maintainPartitions, partitionStatus } from '../../partitions/index.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { runCli } from '../support/run-cli.js';
import { tinyGames } from '../support/tiny-rules.js';

let api: ApiFixture;
let tenantId: string;
let otherTenant: string;
let analyst: TestKey;
let admin: TestKey;
let gameServer: TestKey;
let playerId: string;
/** The sessions of `tenantId`, in creation order: the first has a player and ends. */
const sessionIds: string[] = [];

/** Where the test's own projection stands per tenant (the consumer runner keeps this in feed.consumer_slots). */
const positions = new Map<string, FeedPosition>();

/**
 * How many of the tenant's events are in the log but not yet in analytics (read as the owner).
 * The feed delivers an event only once every older transaction of the cluster has ended, so
 * other work on the server may hold it back for a while: the helpers below wait for it.
 */
async function unprojected(tenant: string): Promise<number> {
  return count(
    `SELECT ((SELECT count(*) FROM game.events WHERE tenant_id = $1)
           + (SELECT count(*) FROM archive.events WHERE tenant_id = $1)
           - (SELECT count(*) FROM analytics.events WHERE tenant_id = $1)
           - (SELECT count(*) FROM analytics_archive.events WHERE tenant_id = $1))::int AS n`,
    [tenant],
  );
}

const deadlineMs = 30_000;

async function pause(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Delivers the tenant's feed to the analytics handler as the runner would: page by page, each in
 * a transaction, until every event of the log is handled (or the deadline passes).
 */
async function project(tenant: string, games: GameCatalog = tinyGames): Promise<number> {
  const target = await unprojected(tenant);
  const deadline = Date.now() + deadlineMs;
  let handled = 0;
  while (handled < target) {
    if (Date.now() > deadline) throw new Error(`the feed delivered ${handled} of ${target} events`);
    const after = positions.get(tenant) ?? feedStart;
    const page = await readFeed(api.agate.store.deps, { tenantId: tenant, after, limit: 7 });
    if (page.events.length === 0) {
      await pause();
      continue;
    }
    await withTenant(api.db.pool, { tenantId: tenant }, (tx) =>
      writeAnalyticsRows(tx, games, page.events),
    );
    handled += page.events.length;
    positions.set(tenant, page.events.at(-1)?.position ?? after);
  }
  return handled;
}

/** The session's `expected` events as the feed delivers them, once it does. */
async function delivered(
  tenant: string,
  sessionId: string,
  expected: number,
): Promise<FeedEvent[]> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const page = await readFeed(api.agate.store.deps, {
      tenantId: tenant,
      sessionId,
      limit: 1000,
    });
    if (page.events.length >= expected) return page.events;
    if (Date.now() > deadline)
      throw new Error(`the feed delivered ${page.events.length} of ${expected} events`);
    await pause();
  }
}

async function count(sql: string, values: unknown[] = []): Promise<number> {
  const r = await api.db.pool.query<{ n: number }>(sql, values);
  return r.rows[0]?.n ?? -1;
}

async function sqlState(sql: string): Promise<string | undefined> {
  try {
    await api.db.pool.query(sql);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

beforeAll(async () => {
  // The tests drive agate.analytics themselves: no consumers of the fixture's own.
  api = await createApiFixture({ consumers: false });
  tenantId = await api.newTenant('analytics');
  otherTenant = await api.newTenant('other');
  analyst = await api.newKey(tenantId, 'analyst');
  admin = await api.newKey(tenantId, 'admin');
  gameServer = await api.newKey(tenantId, 'game_server');
  playerId = (await createPlayer(api.db.pool, { tenantId, externalRef: 'p-1' })).id;
  const { store } = api.agate;
  const first = await store.createSession({ tenantId, rules: 'tiny', seed: 'a', playerId });
  await store.appendEvents({
    tenantId,
    sessionId: first.id,
    events: [
      inc(3),
      { type: 'counter.incremented', version: 2, data: { by: 4, note: 'two' } },
      { type: 'dice.rolled', version: 1, data: { sides: 6 } },
      { type: 'note.written', version: 1, data: { text: 'hello' } },
    ],
  });
  await store.endSession({ tenantId, sessionId: first.id, reason: 'done' });
  const second = await store.createSession({ tenantId, rules: 'tiny', seed: 'b' });
  for (let i = 0; i < 3; i += 1)
    await store.appendEvents({
      tenantId,
      sessionId: second.id,
      events: Array.from({ length: 5 }, (_, j) => inc(i * 5 + j)),
    });
  sessionIds.push(first.id, second.id);
  const foreign = await store.createSession({ tenantId: otherTenant, rules: 'tiny', seed: 'c' });
  await store.appendEvents({ tenantId: otherTenant, sessionId: foreign.id, events: [inc(9)] });
  await project(tenantId);
  await project(otherTenant);
});
afterAll(() => api.close());

describe('analytics.events, fed by the agate.analytics consumer', () => {
  it('is agate’s own transactional consumer of every event type', () => {
    const definition = analyticsConsumer(tinyGames);
    expect(definition).toMatchObject({
      name: 'agate.analytics',
      types: null,
      mode: 'transactional',
    });
  });

  it('holds one row per event, equal to the log, with the session’s player and rules', async () => {
    const mismatched = await count(
      `SELECT count(*)::int AS n
         FROM game.events e
         FULL JOIN analytics.events a ON a.session_id = e.session_id AND a.sequence = e.sequence
         LEFT JOIN game.sessions s ON s.id = e.session_id
        WHERE a.session_id IS NULL OR e.session_id IS NULL
           OR (a.tenant_id, a.event_id, a.event_type, a.event_version, a.server_time, a.client_time,
               a.rules, a.rules_version)
              IS DISTINCT FROM
              (e.tenant_id, e.event_id, e.event_type, e.event_version, e.server_time, e.client_time,
               s.rules, s.rules_version)
           OR a.player_id IS DISTINCT FROM s.player_id`,
    );
    expect(mismatched).toBe(0);
    // Microseconds survive although the feed delivers server time as a Date (milliseconds).
    const micros = await count(
      "SELECT count(*)::int AS n FROM analytics.events WHERE server_time <> date_trunc('milliseconds', server_time)",
    );
    const logMicros = await count(
      "SELECT count(*)::int AS n FROM game.events WHERE server_time <> date_trunc('milliseconds', server_time)",
    );
    expect(micros).toBe(logMicros);
    expect(logMicros).toBeGreaterThan(0);
    const perSession = await api.db.pool.query<{ id: string; last: number; rows: number }>(
      `SELECT s.id, s.last_sequence AS last,
              (SELECT count(*)::int FROM analytics.events a WHERE a.session_id = s.id) AS rows
         FROM game.sessions s ORDER BY s.id`,
    );
    expect(perSession.rows).toHaveLength(3);
    for (const row of perSession.rows) expect(row.rows, row.id).toBe(row.last);
    const players = await api.db.pool.query<{ player_id: string | null }>(
      'SELECT DISTINCT player_id FROM analytics.events WHERE session_id = $1',
      [sessionIds[0]],
    );
    expect(players.rows).toEqual([{ player_id: playerId }]);
  });

  it('keeps the fields the rules declare, from the upcast data, and {} for types without any', async () => {
    const rows = await api.db.pool.query<{ sequence: number; event_type: string; fields: unknown }>(
      'SELECT sequence, event_type, fields FROM analytics.events WHERE session_id = $1 ORDER BY sequence',
      [sessionIds[0]],
    );
    expect(rows.rows).toEqual([
      { sequence: 1, event_type: 'counter.incremented', fields: { by: 3, note: '' } },
      { sequence: 2, event_type: 'counter.incremented', fields: { by: 4, note: 'two' } },
      { sequence: 3, event_type: 'dice.rolled', fields: {} },
      { sequence: 4, event_type: 'note.written', fields: {} },
      { sequence: 5, event_type: 'session.ended', fields: {} },
    ]);
  });

  it('writes fields {} for rules this process does not know, and each row still once', async () => {
    const session = await api.agate.store.createSession({ tenantId, rules: 'tiny', seed: 'u' });
    await api.agate.store.appendEvents({ tenantId, sessionId: session.id, events: [inc(1)] });
    expect(await project(tenantId, createGameCatalog([]))).toBe(1);
    const rows = await api.db.pool.query<{ rules: string; fields: unknown }>(
      'SELECT rules, fields FROM analytics.events WHERE session_id = $1',
      [session.id],
    );
    expect(rows.rows).toEqual([{ rules: 'tiny', fields: {} }]);
    expect(await project(tenantId)).toBe(0);
  });

  it('leaves nothing when the transaction the handler ran in rolls back', async () => {
    const session = await api.agate.store.createSession({ tenantId, rules: 'tiny', seed: 'r' });
    await api.agate.store.appendEvents({
      tenantId,
      sessionId: session.id,
      events: [inc(1), inc(2)],
    });
    const events = await delivered(tenantId, session.id, 2);
    expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    await expect(
      withTenant(api.db.pool, { tenantId }, async (tx) => {
        await writeAnalyticsRows(tx, tinyGames, events);
        const seen = await tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM analytics.events WHERE session_id = $1',
          [session.id],
        );
        expect(seen.rows[0]?.n).toBe(2);
        throw new Error('the checkpoint write failed');
      }),
    ).rejects.toThrow(/checkpoint write failed/);
    expect(
      await count('SELECT count(*)::int AS n FROM analytics.events WHERE session_id = $1', [
        session.id,
      ]),
    ).toBe(0);
    expect(await project(tenantId)).toBe(2);
    expect(
      await count('SELECT count(*)::int AS n FROM analytics.events WHERE session_id = $1', [
        session.id,
      ]),
    ).toBe(2);
  });

  it('shows another tenant nothing, and refuses a row written for another tenant', async () => {
    const seen = await withTenant(
      api.db.pool,
      { tenantId: otherTenant, role: 'agate_analyst' },
      (tx) => tx.query<{ session_id: string }>('SELECT DISTINCT session_id FROM analytics.events'),
    );
    expect(seen.rows).toHaveLength(1);
    expect(sessionIds).not.toContain(seen.rows[0]?.session_id);
    const noTenant = await api.db.pool.connect();
    try {
      await noTenant.query('BEGIN');
      await noTenant.query("SELECT set_config('role', 'agate_analyst', true)");
      const none = await noTenant.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM analytics.events',
      );
      expect(none.rows[0]?.n).toBe(0);
      await noTenant.query('ROLLBACK');
    } finally {
      noTenant.release();
    }
    const mine = (await delivered(tenantId, sessionIds[1] ?? '', 15)).slice(0, 1);
    await expect(
      withTenant(api.db.pool, { tenantId: otherTenant }, (tx) =>
        writeAnalyticsRows(tx, tinyGames, mine),
      ),
    ).rejects.toMatchObject({ code: 'internal' });
    const forged: AnalyticsRow = {
      tenantId,
      sessionId: sessionIds[1] ?? '',
      sequence: 999,
      eventId: uuidv7(),
      type: 'x',
      version: 1,
      serverTime: new Date().toISOString(),
      clientTime: null,
      playerId: null,
      rules: 'tiny',
      rulesVersion: 1,
      fields: {},
    };
    await expect(
      withTenant(api.db.pool, { tenantId: otherTenant }, (tx) =>
        tx.query(
          `INSERT INTO analytics.events (tenant_id, session_id, sequence, event_id, event_type, event_version, server_time, rules, rules_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            forged.tenantId,
            forged.sessionId,
            forged.sequence,
            forged.eventId,
            forged.type,
            1,
            forged.serverTime,
            'tiny',
            1,
          ],
        ),
      ),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('refuses UPDATE, DELETE and TRUNCATE, on the parent and on every partition, even to the owner', async () => {
    expect(await sqlState("UPDATE analytics.events SET event_type = 'x'")).toBe('AG001');
    expect(await sqlState('DELETE FROM analytics.events')).toBe('AG001');
    expect(await sqlState('TRUNCATE analytics.events')).toBe('AG001');
    const parts = await api.db.pool.query<{ name: string }>(
      `SELECT c.oid::regclass::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'analytics.events'::regclass ORDER BY 1`,
    );
    expect(parts.rows.length).toBeGreaterThanOrEqual(6);
    for (const { name } of parts.rows)
      expect(await sqlState(`TRUNCATE ${name}`), name).toBe('AG001');
    // A row trigger fires only for rows: DELETE and UPDATE on every partition that holds some.
    const holding = await api.db.pool.query<{ name: string }>(
      'SELECT DISTINCT tableoid::regclass::text AS name FROM analytics.events',
    );
    expect(holding.rows.length).toBeGreaterThan(0);
    for (const { name } of holding.rows) {
      expect(await sqlState(`DELETE FROM ${name}`), name).toBe('AG001');
      expect(await sqlState(`UPDATE ${name} SET fields = '{}'`), name).toBe('AG001');
    }
    await expect(
      withTenant(api.db.pool, { tenantId }, (tx) =>
        tx.query("UPDATE analytics.events SET event_type = 'x'"),
      ),
    ).rejects.toMatchObject({ code: 'forbidden' });
    const rows = await count('SELECT count(*)::int AS n FROM analytics.events');
    expect(rows).toBe(await count('SELECT count(*)::int AS n FROM game.events'));
  });
});

describe('the agate.analytics consumer run by the feed’s runner', () => {
  it('writes each event’s row exactly once through its checkpoint: a failed batch retried, a restart resumed', async () => {
    const tenant = await api.newTenant('runner');
    const session = await api.agate.store.createSession({ tenantId: tenant, rules: 'tiny' });
    const append = (n: number) =>
      api.agate.store.appendEvents({
        tenantId: tenant,
        sessionId: session.id,
        events: Array.from({ length: n }, (_, i) => inc(i)),
      });
    await append(10);
    // Each batch is checked before it is written: a row already there would mean a batch
    // delivered again after its checkpoint committed, which ON CONFLICT DO NOTHING would hide.
    const redelivered: string[] = [];
    let failures = 1;
    const inner = analyticsConsumer(tinyGames);
    if (inner.mode !== 'transactional') throw new Error('analytics must be transactional');
    const definition: ConsumerDefinition = {
      ...inner,
      handle: async (tx, events) => {
        const present = await tx.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM analytics.events
            WHERE (session_id, sequence) IN (SELECT * FROM unnest($1::uuid[], $2::bigint[]))`,
          [events.map((e) => e.sessionId), events.map((e) => e.sequence)],
        );
        if ((present.rows[0]?.n ?? 0) > 0) redelivered.push(events.map((e) => e.sequence).join());
        await inner.handle(tx, events);
        if (failures > 0) {
          failures -= 1;
          throw new Error('crash after the rows, before the checkpoint commits');
        }
      },
    };
    const errors: unknown[] = [];
    const options = {
      tenantId: tenant,
      definition,
      reserved: true,
      batchSize: 4,
      pollMs: 50,
      onError: (error: unknown) => errors.push(error),
    };
    const first = await startConsumer(api.db.pool, options);
    await first.idle();
    await first.stop();
    expect(errors).toHaveLength(1);
    await append(5);
    const second = await startConsumer(api.db.pool, options);
    await second.idle();
    await second.stop();
    expect(redelivered).toEqual([]);
    const rows = await api.db.pool.query<{ sequence: number }>(
      'SELECT sequence FROM analytics.events WHERE session_id = $1 ORDER BY sequence',
      [session.id],
    );
    expect(rows.rows.map((r) => r.sequence)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    const checkpoint = await api.db.pool.query<{ sequence: number }>(
      `SELECT max(s.checkpoint_sequence)::int AS sequence FROM feed.consumer_slots s
         JOIN feed.consumers c ON c.id = s.consumer_id
        WHERE c.tenant_id = $1 AND c.name = 'agate.analytics'`,
      [tenant],
    );
    expect(checkpoint.rows[0]?.sequence).toBe(15);
  });
});

describe('analytics.events partitions', () => {
  const now = new Date();
  const monthAt = (months: number) =>
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15));
  const name = (date: Date) =>
    `events_p${date.getUTCFullYear()}_${String(date.getUTCMonth() + 1).padStart(2, '0')}`;

  it('keeps the window with maintain, grants nothing on a partition, and archives retained months apart from game.events', async () => {
    // A session whose events are from four months back: both tables put them in their default partitions.
    const old = await api.agate.store.createSession({ tenantId, rules: 'tiny', seed: 'old' });
    await appendAt(api.db.pool, old, monthAt(-4), tinyEvents(3));
    expect(await project(tenantId)).toBe(3);
    expect(await count('SELECT count(*)::int AS n FROM analytics.events_default')).toBe(3);

    const report = await maintainPartitions(api.db.url, { now, backend: 'native' });
    const table = report.ran
      ? report.tables.find((t) => t.table === 'analytics.events')
      : undefined;
    expect(table?.moved).toEqual([{ month: expect.any(String) as unknown, rows: 3 }]);
    const status = await partitionStatus(api.db.url, { now });
    const analytics = status.tables.find((t) => t.table === 'analytics.events');
    expect(analytics).toMatchObject({
      monthsAhead: 3,
      warnings: [],
      defaultPartition: { rows: 0 },
    });
    expect(analytics?.partitions.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        name(monthAt(-4)),
        name(monthAt(-1)),
        name(monthAt(3)),
        'events_default',
      ]),
    );
    const granted = await count(
      `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'analytics.events'::regclass AND c.relacl IS NOT NULL`,
    );
    expect(granted).toBe(0);

    const retained = await maintainPartitions(api.db.url, {
      now,
      backend: 'native',
      retentionMonths: 2,
    });
    const detached = retained.ran
      ? retained.tables.filter((t) => t.detached.includes(name(monthAt(-4)))).map((t) => t.table)
      : [];
    expect(detached).toEqual(['game.events', 'analytics.events']);
    expect(
      await count(`SELECT count(*)::int AS n FROM analytics_archive.${name(monthAt(-4))}`),
    ).toBe(3);
    expect(await sqlState(`DELETE FROM analytics_archive.${name(monthAt(-4))}`)).toBe('AG001');
    expect(await sqlState(`TRUNCATE analytics_archive.${name(monthAt(-4))}`)).toBe('AG001');
    // The API still reads the archived month, under the tenant's policy.
    const page = await api.call('GET', `/v1/analytics/events?session=${old.id}`, {
      key: analyst.key,
    });
    expect(page.status).toBe(200);
    expect((page.json.events as AnalyticsRow[]).map((e) => e.sequence)).toEqual([1, 2, 3]);
    const other = await api.newKey(otherTenant, 'analyst');
    const hidden = await api.call('GET', `/v1/analytics/events?session=${old.id}`, {
      key: other.key,
    });
    expect(hidden.json).toEqual({ events: [], next: null });
  });
});

describe('GET /v1/analytics/events', () => {
  const url = (query: string) => `/v1/analytics/events${query === '' ? '' : `?${query}`}`;
  const rowsOf = (reply: { json: Record<string, unknown> }) => reply.json.events as AnalyticsRow[];

  async function everything(): Promise<AnalyticsRow[]> {
    const r = await api.call('GET', url('limit=1000'), { key: analyst.key });
    return rowsOf(r);
  }

  it('answers analysts and admins in server-time order, and refuses game servers and operators', async () => {
    const all = await everything();
    const expected = await count(
      `SELECT (SELECT count(*) FROM analytics.events WHERE tenant_id = $1)::int
            + (SELECT count(*) FROM analytics_archive.events WHERE tenant_id = $1)::int AS n`,
      [tenantId],
    );
    expect(all).toHaveLength(expected);
    const keys = all.map((r) => [Date.parse(r.serverTime), r.sessionId, r.sequence] as const);
    const sorted = [...keys].sort((a, b) =>
      a[0] !== b[0] ? a[0] - b[0] : a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : a[2] - b[2],
    );
    expect(keys).toEqual(sorted);
    expect(all.every((r) => r.tenantId === tenantId)).toBe(true);
    const asAdmin = await api.call('GET', url('limit=1000'), { key: admin.key });
    expect(rowsOf(asAdmin)).toEqual(all);
    const refused = await api.call('GET', url(''), { key: gameServer.key });
    expect(refused).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    const operator = await api.newOperatorKey();
    const byOperator = await api.call('GET', url(''), { key: operator.key });
    expect(byOperator).toMatchObject({ status: 403, json: { code: 'forbidden' } });
    expect((await api.call('GET', url(''), {})).status).toBe(401);
  });

  it('filters by session, player, types and server time, each against the full answer', async () => {
    const all = await everything();
    const bySession = rowsOf(
      await api.call('GET', url(`session=${sessionIds[1]}`), { key: analyst.key }),
    );
    expect(bySession).toEqual(all.filter((r) => r.sessionId === sessionIds[1]));
    expect(bySession.map((r) => r.sequence)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    const byPlayer = rowsOf(await api.call('GET', url(`player=${playerId}`), { key: analyst.key }));
    expect(byPlayer).toEqual(all.filter((r) => r.playerId === playerId));
    expect(byPlayer).toHaveLength(5);
    const byTypes = rowsOf(
      await api.call('GET', url('type=session.ended,dice.rolled&limit=1000'), { key: analyst.key }),
    );
    expect(byTypes).toEqual(
      all.filter((r) => r.type === 'session.ended' || r.type === 'dice.rolled'),
    );
    expect(byTypes).toHaveLength(2);
    const middle = all[Math.floor(all.length / 2)];
    const last = all.at(-1);
    if (middle === undefined || last === undefined) throw new Error('no rows');
    const from = middle.serverTime;
    const to = last.serverTime;
    const ranged = rowsOf(
      await api.call('GET', url(`from=${from}&to=${to}&limit=1000`), { key: analyst.key }),
    );
    const micros = (t: string) => t.replace('Z', '').padEnd(26, '0');
    expect(ranged).toEqual(
      all.filter((r) => micros(r.serverTime) >= micros(from) && micros(r.serverTime) < micros(to)),
    );
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.some((r) => r.serverTime === to)).toBe(false);
    const none = await api.call('GET', url(`session=${uuidv7()}`), { key: analyst.key });
    expect(none.json).toEqual({ events: [], next: null });
  });

  it('pages by its cursor through exactly the rows of one full read', async () => {
    const all = await everything();
    const seen: AnalyticsRow[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const query: string = `limit=4${after === null ? '' : `&after=${after}`}`;
      const reply = await api.call('GET', url(query), { key: analyst.key });
      expect(reply.status).toBe(200);
      const rows = rowsOf(reply);
      expect(rows.length).toBeLessThanOrEqual(4);
      seen.push(...rows);
      after = reply.json.next as string | null;
      pages += 1;
    } while (after !== null && pages < 100);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.floor(all.length / 4) + 1);
  });

  it('streams the whole filtered range as NDJSON, by Accept or by format', async () => {
    const all = await everything();
    const ndjson = async (query: string, headers: Record<string, string> = {}) => {
      const raw = await api.app.inject({
        method: 'GET',
        url: url(query),
        headers: { authorization: `Bearer ${analyst.key}`, ...headers },
      });
      return {
        status: raw.statusCode,
        raw,
        json: raw.statusCode === 200 ? {} : raw.json<Record<string, unknown>>(),
      };
    };
    const byAccept = await ndjson('limit=3', { accept: 'application/x-ndjson' });
    expect(byAccept.status).toBe(200);
    expect(byAccept.raw.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = byAccept.raw.body.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => JSON.parse(l) as AnalyticsRow)).toEqual(all);
    const byFormat = await ndjson(`format=ndjson&session=${sessionIds[1]}`);
    expect(
      byFormat.raw.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AnalyticsRow),
    ).toEqual(all.filter((r) => r.sessionId === sessionIds[1]));
    const empty = await ndjson(`format=ndjson&session=${uuidv7()}`);
    expect(empty.status).toBe(200);
    expect(empty.raw.body).toBe('');
    const bad = await ndjson('format=ndjson&after=nonsense');
    expect(bad).toMatchObject({ status: 400, json: { code: 'invalid_request' } });
  });

  it('exports the same rows from the CLI, as NDJSON, and says what is wrong with a filter', async () => {
    const all = await everything();
    const run = await runCli(['analytics', 'export', '--tenant', tenantId], {
      DATABASE_URL: api.db.url,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => JSON.parse(l) as AnalyticsRow)).toEqual(all);
    const typed = await runCli(
      ['analytics', 'export', '--tenant', tenantId, '--type', 'dice.rolled'],
      { DATABASE_URL: api.db.url },
    );
    expect(
      typed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AnalyticsRow),
    ).toEqual(all.filter((r) => r.type === 'dice.rolled'));
    const bad = await runCli(['analytics', 'export', '--tenant', tenantId, '--from', 'soon'], {
      DATABASE_URL: api.db.url,
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/from .*\[invalid_request\]/);
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=1001', /limit/],
    ['limit=ten', /limit/],
    ['after=bm9wZQ', /after must be a cursor/],
    ['after=%2B%2B', /after must be a cursor/],
    ['session=nope', /session/],
    ['player=123', /player/],
    ['from=yesterday', /from/],
    ['to=2026-02-30T00:00:00Z', /to/],
    ['from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z', /to must not be before from/],
    ['type=', /type/],
    ['type=a,,b', /type/],
    ['format=csv', /format/],
    ['sessions=x', /sessions/],
  ])('refuses %s with invalid_request naming what is wrong', async (query, detail) => {
    const reply = await api.call('GET', url(query), { key: analyst.key });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ code: 'invalid_request' });
    expect(String(reply.json.detail)).toMatch(detail);
  });
});
