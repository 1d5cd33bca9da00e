import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { createKey } from '../../src/keys/index.js';
import type { ApiKeyRole } from '../../src/keys/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { databaseFingerprint, inc } from '../support/api.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

// 5 requests per second, bursts of 5, on a clock the test moves: refill is exact, never slept for.

let db: TestDatabase;
let agate: Agate;
let clock = 0;
let app: FastifyInstance;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames });
  app = createServer({
    agate,
    logger: pino({ level: 'silent' }),
    rateLimit: { perSecond: 5, burst: 5, now: () => clock },
  });
  await app.ready();
  tenantId = (await createTenant(db.pool, { name: 'limited', actor: 'test' })).id;
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

async function newKey(role: ApiKeyRole = 'game_server'): Promise<string> {
  return (await createKey(db.pool, { tenantId, role, actor: 'test' })).key;
}

function call(
  method: 'GET' | 'POST',
  url: string,
  key?: string,
  body?: Record<string, unknown>,
  target: FastifyInstance = app,
): Promise<LightMyRequestResponse> {
  return target.inject({
    method,
    url,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body }),
  });
}

/** A session with one event, created by a key that is then spent: the test's own budget. */
async function newSession(key: string): Promise<string> {
  const created = await call('POST', '/v1/sessions', key, {});
  expect(created.statusCode).toBe(201);
  return created.json<{ id: string }>().id;
}

async function spend(key: string, count: number, url: string): Promise<void> {
  for (let i = 0; i < count; i += 1) expect((await call('GET', url, key)).statusCode).toBe(200);
}

describe('per-key rate limiting', () => {
  it('refuses the 6th quick request of a key with 429 rate_limited and Retry-After, storing nothing', async () => {
    clock += 10_000;
    const key = await newKey();
    const id = await newSession(key);
    await spend(key, 4, `/v1/sessions/${id}`);
    const before = await databaseFingerprint(db);

    const refused = await call('POST', `/v1/sessions/${id}/events`, key, { events: [inc(1)] });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('1');
    const problem = refused.json<Record<string, unknown>>();
    expect(problem).toMatchObject({
      status: 429,
      title: 'Too Many Requests',
      code: 'rate_limited',
      type: 'urn:agate:error:rate_limited',
      retryAfter: 1,
    });
    expect(problem.detail).toMatch(/Wait 1 s/);
    expect(await databaseFingerprint(db)).toEqual(before);
    const created = await call('POST', '/v1/sessions', key, {});
    expect(created.statusCode).toBe(429);
    expect(await databaseFingerprint(db)).toEqual(before);
  });

  it('leaves another key of the same tenant its own budget', async () => {
    clock += 10_000;
    const spent = await newKey();
    const other = await newKey();
    const id = await newSession(spent);
    await spend(spent, 4, `/v1/sessions/${id}`);
    expect((await call('GET', `/v1/sessions/${id}`, spent)).statusCode).toBe(429);
    await spend(other, 5, `/v1/sessions/${id}`);
    expect((await call('GET', `/v1/sessions/${id}`, other)).statusCode).toBe(429);
  });

  it('never limits public routes, with or without a spent key', async () => {
    clock += 10_000;
    const key = await newKey();
    const id = await newSession(key);
    await spend(key, 4, `/v1/sessions/${id}`);
    for (let i = 0; i < 20; i += 1) {
      for (const url of ['/healthz', '/metrics', '/openapi.json']) {
        expect((await call('GET', url)).statusCode).toBe(200);
        expect((await call('GET', url, key)).statusCode).toBe(200);
      }
    }
  });

  it('takes nothing from a bucket for requests refused by authentication', async () => {
    clock += 10_000;
    const analyst = await newKey('analyst');
    const server = await newKey();
    const id = await newSession(server);
    for (let i = 0; i < 20; i += 1) {
      // Unknown key: 401; a role that may not call the route: 403. Neither is ever a 429.
      expect((await call('GET', `/v1/sessions/${id}`, 'agk_nonsense')).statusCode).toBe(401);
      expect(
        (await call('POST', `/v1/sessions/${id}/events`, analyst, { events: [inc(1)] })).statusCode,
      ).toBe(403);
    }
    await spend(analyst, 5, `/v1/sessions/${id}`);
    expect((await call('GET', `/v1/sessions/${id}`, analyst)).statusCode).toBe(429);
  });

  it('refills at the configured rate on the injected clock, up to the burst', async () => {
    clock += 10_000;
    const key = await newKey();
    const id = await newSession(key);
    const url = `/v1/sessions/${id}`;
    await spend(key, 4, url);
    expect((await call('GET', url, key)).statusCode).toBe(429);

    clock += 100; // half a token
    const early = await call('GET', url, key);
    expect(early.statusCode).toBe(429);
    expect(early.headers['retry-after']).toBe('1');
    clock += 100; // one token
    expect((await call('GET', url, key)).statusCode).toBe(200);
    expect((await call('GET', url, key)).statusCode).toBe(429);

    clock += 60_000; // full again, never more than the burst
    await spend(key, 5, url);
    expect((await call('GET', url, key)).statusCode).toBe(429);
  });

  it('does not limit at all when rateLimit is null', async () => {
    const open = createServer({ agate, logger: pino({ level: 'silent' }), rateLimit: null });
    try {
      const key = await newKey();
      const created = await call('POST', '/v1/sessions', key, {}, open);
      const id = created.json<{ id: string }>().id;
      for (let i = 0; i < 120; i += 1) {
        expect((await call('GET', `/v1/sessions/${id}`, key, undefined, open)).statusCode).toBe(
          200,
        );
      }
    } finally {
      await open.close();
    }
  });
});
