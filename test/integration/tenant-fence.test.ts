// The write fence of a tenant's online move (issue 19, ADR 0034, migration 0018) as the API and
// the placement router see it: fence rows are written here by hand, as the owner login, the way
// the mover writes them. Two databases of the local server stand for two placements: the control
// plane (`shared`) and `database:eu1`.
import pg from 'pg';
import pino from 'pino';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { AgateClient } from '../../src/client/index.js';
import type { Pool } from '../../src/db/index.js';
import { appendEventsInTransaction } from '../../src/events/index.js';
import { isAgateError } from '../../src/errors/index.js';
import { createKey, createOperatorKey } from '../../src/keys/index.js';
import {
  announcePlacementChange,
  createPlacementRouter,
  listenForPlacementChanges,
} from '../../src/placements/index.js';
import type { PlacementRouter } from '../../src/placements/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { inc, spawnServe } from '../support/api.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let control: TestDatabase;
let eu1: TestDatabase;
let controlAgate: Agate;
let eu1Agate: Agate;
let router: PlacementRouter<Agate>;
let app: ReturnType<typeof createServer>;
let baseUrl: string;
let operatorKey: string;

type Tenant = { id: string; key: string; adminKey: string };
type Reply = { status: number; json: Record<string, unknown>; retryAfter: unknown };

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, key: string, body?: object) {
  const raw = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  const reply: Reply = {
    status: raw.statusCode,
    json: JSON.parse(raw.body) as Record<string, unknown>,
    retryAfter: raw.headers['retry-after'],
  };
  return reply;
}

async function count(pool: Pool, sql: string, values: unknown[]): Promise<number> {
  const result = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return result.rows[0]?.n ?? -1;
}

/** Every row a tenant's writes could add in a database, for "nothing stored". */
async function tenantRows(pool: Pool, tenantId: string): Promise<Record<string, number>> {
  const result = await pool.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM game.sessions WHERE tenant_id = $1) AS sessions,
            (SELECT count(*)::int FROM game.events WHERE tenant_id = $1) AS events,
            (SELECT count(*)::int FROM public.players WHERE tenant_id = $1) AS players,
            (SELECT count(*)::int FROM public.players WHERE tenant_id = $1 AND erased_at IS NOT NULL) AS erased`,
    [tenantId],
  );
  return result.rows[0] ?? {};
}

async function newTenant(placement = 'shared'): Promise<Tenant> {
  const created = await call('POST', '/v1/tenants', operatorKey, { name: 'moving', placement });
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  const key = await createKey(control.pool, { tenantId: id, role: 'game_server', actor: 'test' });
  const admin = await createKey(control.pool, { tenantId: id, role: 'admin', actor: 'test' });
  return { id, key: key.key, adminKey: admin.key };
}

async function newSession(key: string): Promise<string> {
  const created = await call('POST', '/v1/sessions', key, { rules: 'tiny' });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

/** The fence row a move writes in the placement a tenant leaves. */
async function fence(
  db: TestDatabase,
  tenantId: string,
  state: 'copying' | 'fenced' | 'moved',
  options: { placement?: string; waitMs?: number } = {},
): Promise<void> {
  await db.pool.query(
    `INSERT INTO admin.tenant_fences (tenant_id, move_id, state, placement, wait_ms)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id) DO UPDATE SET state = $3, placement = $4, wait_ms = $5`,
    [tenantId, uuidv7(), state, options.placement ?? 'database:eu1', options.waitMs ?? 2000],
  );
}

/** The mover's exclusive hold of the fence, on a connection of its own, until `release`. */
async function holdFence(db: TestDatabase, tenantId: string) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`SELECT pg_advisory_lock(hashtextextended('agate.fence:' || $1, 0))`, [
    tenantId,
  ]);
  return { release: () => client.end() };
}

/** Polls `check` every 20 ms until it holds; fails after `boundMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, boundMs = 5_000) {
  const until = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} did not happen within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Backends of `db` waiting for an advisory lock in a statement that mentions `text`. */
async function waitingOnFence(db: TestDatabase, text: string): Promise<number> {
  return count(
    db.pool,
    `pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
       AND wait_event = 'advisory' AND position($1 in query) > 0`,
    [text],
  );
}

function expectMoving(reply: Reply, moved: boolean, placement: string) {
  expect(reply.status).toBe(503);
  expect(reply.json).toMatchObject({ code: 'tenant_moving', moved, placement, retryAfter: 1 });
  expect(reply.retryAfter).toBe('1');
}

beforeAll(async () => {
  control = await createTestDatabase();
  eu1 = await createTestDatabase();
  controlAgate = createAgate({ pool: control.pool, games: tinyGames });
  eu1Agate = createAgate({ pool: eu1.pool, games: tinyGames });
  router = createPlacementRouter({
    control: controlAgate,
    databases: new Map([['eu1', eu1Agate]]),
  });
  app = createServer({
    agate: controlAgate,
    placements: router,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  operatorKey = (await createOperatorKey(control.pool, { actor: 'test' })).key;
});

afterAll(async () => {
  await app.close();
  await router.close();
  await controlAgate.close();
  await eu1.drop();
  await control.drop();
});

describe('a tenant whose writes are fenced for a move', () => {
  it('holds an append while the mover holds the fence and stores it once released', async () => {
    const tenant = await newTenant();
    const sessionId = await newSession(tenant.key);
    await fence(control, tenant.id, 'copying', { waitMs: 10_000 });
    const hold = await holdFence(control, tenant.id);
    const pending = call('POST', `/v1/sessions/${sessionId}/events`, tenant.key, {
      events: [inc(1), inc(2)],
    });
    await waitFor('the append waiting on the fence', async () => {
      return (await waitingOnFence(control, 'append_events')) === 1;
    });
    expect(await count(control.pool, 'game.events WHERE session_id = $1', [sessionId])).toBe(0);
    await hold.release();
    const appended = await pending;
    expect(appended.status).toBe(201);
    expect(appended.json).toMatchObject({ firstSequence: 1, lastSequence: 2 });
    expect(await count(control.pool, 'game.events WHERE session_id = $1', [sessionId])).toBe(2);
  });

  it('refuses writes held past the fence bound with 503 tenant_moving and Retry-After, storing nothing', async () => {
    const tenant = await newTenant();
    const [first, second] = [await newSession(tenant.key), await newSession(tenant.key)];
    await fence(control, tenant.id, 'fenced', { waitMs: 200 });
    const before = await tenantRows(control.pool, tenant.id);
    const hold = await holdFence(control, tenant.id);
    try {
      const single = await call('POST', `/v1/sessions/${first}/events`, tenant.key, {
        events: [inc(1)],
      });
      expectMoving(single, false, 'database:eu1');
      const many = await call('POST', '/v1/appends', tenant.key, {
        sessions: [
          { sessionId: first, events: [inc(1)] },
          { sessionId: second, events: [inc(1)] },
        ],
      });
      expectMoving(many, false, 'database:eu1');
      expectMoving(
        await call('POST', '/v1/sessions', tenant.key, { rules: 'tiny' }),
        false,
        'database:eu1',
      );
      expectMoving(await call('POST', '/v1/players', tenant.key, {}), false, 'database:eu1');
    } finally {
      await hold.release();
    }
    expect(await tenantRows(control.pool, tenant.id)).toEqual(before);
  });

  it('makes the typed client wait the Retry-After of a 503 before it appends again', async () => {
    const tenant = await newTenant();
    const sessionId = await newSession(tenant.key);
    await fence(control, tenant.id, 'fenced', { waitMs: 100 });
    const hold = await holdFence(control, tenant.id);
    const answers: { at: number; status: number }[] = [];
    const client = new AgateClient({
      baseUrl,
      apiKey: tenant.key,
      backoffMs: 1,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        answers.push({ at: performance.now(), status: response.status });
        // The move switches (here: lets go) once the first refusal is in.
        if (answers.length === 1) await hold.release();
        return response;
      },
    });
    const result = await client.append(sessionId, [
      { type: 'counter.incremented', version: 1, data: { by: 1 } },
    ]);
    expect(result).toMatchObject({ firstSequence: 1, lastSequence: 1, duplicate: false });
    expect(answers.map((a) => a.status)).toEqual([503, 201]);
    // Backoff alone is about a millisecond: only the Retry-After of 1 s explains the gap.
    expect(answers[1]!.at - answers[0]!.at).toBeGreaterThanOrEqual(950);
    expect(await count(control.pool, 'game.events WHERE session_id = $1', [sessionId])).toBe(1);
  });

  it('refuses an append in a REPEATABLE READ transaction at once rather than waiting', async () => {
    const tenant = await newTenant();
    const sessionId = await newSession(tenant.key);
    await fence(control, tenant.id, 'copying', { waitMs: 60_000 });
    const hold = await holdFence(control, tenant.id);
    const tx = await control.pool.connect();
    try {
      await tx.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const startedAt = performance.now();
      const refused = await appendEventsInTransaction(controlAgate.store.deps, tx, {
        tenantId: tenant.id,
        sessionId,
        events: [inc(1)],
      }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(isAgateError(refused, 'tenant_moving')).toBe(true);
      expect(isAgateError(refused) && refused.details).toMatchObject({ moved: false });
      expect(performance.now() - startedAt).toBeLessThan(5_000);
      await tx.query('ROLLBACK');
    } finally {
      tx.release();
      await hold.release();
    }
    expect(await count(control.pool, 'game.events WHERE session_id = $1', [sessionId])).toBe(0);
  });
});

describe('a tenant that has moved away from a placement', () => {
  it('refuses every write there with tenant_moving moved: true and asks the control plane again', async () => {
    const tenant = await newTenant('database:eu1');
    const sessionId = await newSession(tenant.key);
    const player = await call('POST', '/v1/players', tenant.key, {});
    expect(player.status).toBe(201);
    await fence(eu1, tenant.id, 'moved', { placement: 'shared' });
    const before = await tenantRows(eu1.pool, tenant.id);
    const refusals = [
      await call('POST', `/v1/sessions/${sessionId}/events`, tenant.key, { events: [inc(1)] }),
      await call('POST', '/v1/appends', tenant.key, {
        sessions: [{ sessionId, events: [inc(1)] }],
      }),
      await call('POST', '/v1/sessions', tenant.key, { rules: 'tiny' }),
      await call('POST', '/v1/players', tenant.key, {}),
      await call('DELETE', `/v1/players/${String(player.json.id)}`, tenant.adminKey),
    ];
    for (const refused of refusals) expectMoving(refused, true, 'shared');
    expect(await tenantRows(eu1.pool, tenant.id)).toEqual(before);

    // The switch in the control plane, not announced: the router still remembers eu1 ...
    expect(await router.placementOf(tenant.id)).toBe('database:eu1');
    await control.pool.query(
      "UPDATE admin.tenant_placements SET placement = 'shared' WHERE tenant_id = $1",
      [tenant.id],
    );
    expect(await router.placementOf(tenant.id)).toBe('database:eu1');
    // ... until the old placement's refusal makes it forget: the next request goes to shared.
    expectMoving(
      await call('POST', `/v1/sessions/${sessionId}/events`, tenant.key, { events: [inc(1)] }),
      true,
      'shared',
    );
    const moved = await newSession(tenant.key);
    expect(await count(control.pool, 'game.sessions WHERE id = $1', [moved])).toBe(1);
    expect(await count(eu1.pool, 'game.sessions WHERE id = $1', [moved])).toBe(0);
    expect(await router.placementOf(tenant.id)).toBe('shared');
  });
});

describe('placement changes announced on the control plane', () => {
  const place = (tenantId: string, placement: string) =>
    control.pool.query('UPDATE admin.tenant_placements SET placement = $2 WHERE tenant_id = $1', [
      tenantId,
      placement,
    ]);

  it('make a listening router forget the tenant, and a lost LISTEN makes it forget all', async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const listening = createPlacementRouter({ control: controlAgate });
    const changes = listenForPlacementChanges({
      connectionString: control.url,
      router: listening,
      reconnectMs: 20,
    });
    try {
      await changes.ready();
      expect(await listening.placementOf(tenant.id)).toBe('shared');
      expect(await listening.placementOf(other.id)).toBe('shared');
      await place(tenant.id, 'database:eu1');
      await place(other.id, 'database:eu1');
      expect(await listening.placementOf(tenant.id)).toBe('shared');
      await announcePlacementChange(control.pool, tenant.id);
      await waitFor('the router forgetting the announced tenant', async () => {
        return (await listening.placementOf(tenant.id)) === 'database:eu1';
      });
      // Only the announced tenant was forgotten.
      expect(await listening.placementOf(other.id)).toBe('shared');

      await count(
        control.pool,
        `(SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'agate-placements') t`,
        [],
      );
      await waitFor('the router forgetting everything after the LISTEN was lost', async () => {
        return (await listening.placementOf(other.id)) === 'database:eu1';
      });
      // Listening again: an announcement is heard (sent again until it is, the reconnect racing).
      await place(tenant.id, 'shared');
      await waitFor('an announcement heard after reconnecting', async () => {
        await announcePlacementChange(control.pool, tenant.id);
        return (await listening.placementOf(tenant.id)) === 'shared';
      });
    } finally {
      await changes.close();
    }
  });

  it('do not let a lookup in flight across a forget be remembered', async () => {
    const tenant = await newTenant();
    const fresh = createPlacementRouter({ control: controlAgate });
    const blocker = await control.pool.connect();
    let looked: Promise<unknown>;
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE admin.tenant_placements IN ACCESS EXCLUSIVE MODE');
      looked = fresh.placementOf(tenant.id);
      await waitFor('the lookup waiting on the control plane', async () => {
        return (
          (await count(
            control.pool,
            `pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND position('tenant_placements' in query) > 0`,
            [],
          )) === 1
        );
      });
      // An announcement heard while the lookup is out.
      fresh.forget(tenant.id);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    expect(await looked).toBe('shared');
    await place(tenant.id, 'database:eu1');
    expect(await fresh.placementOf(tenant.id)).toBe('database:eu1');
  });

  it('are listened to by agate serve on the control plane', async () => {
    const serve = await spawnServe({ DATABASE_URL: control.url });
    try {
      await waitFor('agate serve listening on agate_placements', async () => {
        return (
          (await count(
            control.pool,
            `pg_stat_activity WHERE datname = current_database()
               AND application_name = 'agate-placements' AND query = 'LISTEN agate_placements'`,
            [],
          )) === 1
        );
      });
    } finally {
      await serve.stop();
    }
    await waitFor('the LISTEN connection closed with the server', async () => {
      const left = await count(
        control.pool,
        `pg_stat_activity WHERE datname = current_database() AND application_name = 'agate-placements'`,
        [],
      );
      return left === 0;
    });
  });
});

describe('the append-only guard during a move', () => {
  const removing = async (db: TestDatabase, tenantId: string, statement: string) => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('agate.removing_tenant', $1, true)", [tenantId]);
      const result = await client.query(statement, [tenantId]).then(
        (r) => ({ ok: true as const, rows: r.rowCount ?? 0 }),
        (error: { code?: string }) => ({ ok: false as const, code: error.code }),
      );
      await client.query(result.ok ? 'COMMIT' : 'ROLLBACK');
      return result;
    } finally {
      client.release();
    }
  };

  it('lets the mover delete a moved tenant’s rows, and no other change', async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const sessionId = await newSession(tenant.key);
    const otherSession = await newSession(other.key);
    for (const [key, id] of [
      [tenant.key, sessionId],
      [other.key, otherSession],
    ] as const) {
      const appended = await call('POST', `/v1/sessions/${id}/events`, key, {
        events: [inc(1), inc(2)],
      });
      expect(appended.status).toBe(201);
    }
    const deleteTenant = 'DELETE FROM game.events WHERE tenant_id = $1';

    // Not moved (still copying): refused, though the setting names the tenant.
    await fence(control, tenant.id, 'copying');
    expect(await removing(control, tenant.id, deleteTenant)).toEqual({ ok: false, code: 'AG001' });

    await fence(control, tenant.id, 'moved', { placement: 'database:eu1' });
    expect(
      await removing(
        control,
        tenant.id,
        'UPDATE game.events SET event_type = event_type WHERE tenant_id = $1',
      ),
    ).toEqual({ ok: false, code: 'AG001' });
    // Another tenant's rows, with the setting naming the moved one.
    expect(
      await removing(
        control,
        tenant.id,
        `DELETE FROM game.events WHERE tenant_id = '${other.id}' OR tenant_id = $1`,
      ),
    ).toEqual({ ok: false, code: 'AG001' });
    expect(await count(control.pool, 'game.events WHERE tenant_id = $1', [tenant.id])).toBe(2);

    expect(await removing(control, tenant.id, deleteTenant)).toEqual({ ok: true, rows: 2 });
    expect(await count(control.pool, 'game.events WHERE tenant_id = $1', [tenant.id])).toBe(0);
    expect(await count(control.pool, 'game.events WHERE tenant_id = $1', [other.id])).toBe(2);
  });
});
