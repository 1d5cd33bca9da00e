import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createServer } from '../../src/api/index.js';
import { createPool } from '../../src/db/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createApiFixture, databaseFingerprint, inc } from '../support/api.js';
import type { ApiFixture, CallOptions, Reply, TestKey } from '../support/api.js';
import { createEmptyDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let api: ApiFixture;
let server: TestKey;
let sessionId: string;

beforeAll(async () => {
  api = await createApiFixture();
  server = await api.newKey(await api.newTenant(), 'game_server');
  const created = await api.call('POST', '/v1/sessions', {
    key: server.key,
    body: { rules: 'tiny' },
  });
  sessionId = created.json.id as string;
  await api.call('POST', `/v1/sessions/${sessionId}/events`, {
    key: server.key,
    body: { events: [inc(1)] },
  });
});
afterAll(() => api.close());

const json = { 'content-type': 'application/json' };

function expectProblem(reply: Reply, status: number, code: string): void {
  expect([reply.status, reply.json.code]).toEqual([status, code]);
  expect(reply.raw.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(reply.json).toMatchObject({
    type: `urn:agate:error:${code}`,
    status,
    title: expect.any(String) as string,
  });
  expect(reply.raw.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d|\.js:\d/);
}

describe('bad requests', () => {
  const cases: [string, 'sessions' | 'events', CallOptions, number, string][] = [
    [
      'malformed JSON',
      'events',
      { payload: '{"events": [', headers: json },
      400,
      'invalid_request',
    ],
    ['an empty JSON body', 'events', { payload: '', headers: json }, 400, 'invalid_request'],
    [
      'text/plain',
      'events',
      { payload: 'events', headers: { 'content-type': 'text/plain' } },
      415,
      'invalid_request',
    ],
    [
      'form encoding',
      'sessions',
      { payload: 'rules=tiny', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'invalid_request',
    ],
    ['a JSON array body', 'events', { body: [inc(1)] }, 400, 'invalid_request'],
    ['events as a string', 'events', { body: { events: 'x' } }, 400, 'invalid_request'],
    ['an empty batch', 'events', { body: { events: [] } }, 400, 'invalid_request'],
    [
      'expectedSequence as a string',
      'events',
      { body: { expectedSequence: '1', events: [inc(1)] } },
      400,
      'invalid_request',
    ],
    [
      'a negative expectedSequence',
      'events',
      { body: { expectedSequence: -1, events: [inc(1)] } },
      400,
      'invalid_request',
    ],
    [
      'an unknown field',
      'events',
      { body: { events: [inc(1)], tenantId: 'x' } },
      400,
      'invalid_request',
    ],
    [
      'a numeric type',
      'events',
      { body: { events: [{ type: 5, data: {} }] } },
      422,
      'invalid_event',
    ],
    [
      'data as an array',
      'events',
      { body: { events: [{ type: 'note.written', data: [] }] } },
      422,
      'invalid_event',
    ],
    [
      'a bad eventId',
      'events',
      { body: { events: [{ ...inc(1), eventId: 'nope' }] } },
      422,
      'invalid_event',
    ],
    [
      'a bad clientTime',
      'events',
      { body: { events: [{ ...inc(1), clientTime: 'yesterday' }] } },
      422,
      'invalid_event',
    ],
    [
      '\\u0000 in event data',
      'events',
      {
        payload: '{"events":[{"type":"note.written","data":{"text":"a\\u0000b"}}]}',
        headers: json,
      },
      422,
      'invalid_event',
    ],
    [
      '\\u0000 in a key of event data',
      'events',
      {
        payload: '{"events":[{"type":"note.written","data":{"text":"a","extra":{"\\u0000":1}}}]}',
        headers: json,
      },
      422,
      'invalid_event',
    ],
    [
      'prototype poisoning',
      'events',
      {
        payload: '{"events":[{"type":"note.written","data":{"text":"a"}}],"__proto__":{"x":1}}',
        headers: json,
      },
      400,
      'invalid_request',
    ],
    [
      'a 5 MiB body',
      'events',
      {
        payload: JSON.stringify({
          events: [{ type: 'note.written', data: { text: 'x'.repeat(5 * 1024 * 1024) } }],
        }),
        headers: json,
      },
      413,
      'payload_too_large',
    ],
    [
      '\\u0000 in a seed',
      'sessions',
      { payload: '{"rules":"tiny","seed":"a\\u0000"}', headers: json },
      400,
      'invalid_request',
    ],
    [
      '\\u0000 in config',
      'sessions',
      { payload: '{"rules":"tiny","config":{"k":"\\u0000"}}', headers: json },
      400,
      'invalid_request',
    ],
    [
      'config as an array',
      'sessions',
      { body: { rules: 'tiny', config: [] } },
      400,
      'invalid_request',
    ],
    [
      'a seed as a number',
      'sessions',
      { body: { rules: 'tiny', seed: 7 } },
      400,
      'invalid_request',
    ],
    [
      'a playerId that is not a UUID',
      'sessions',
      { body: { rules: 'tiny', playerId: 'p1' } },
      400,
      'invalid_request',
    ],
    ['unknown rules', 'sessions', { body: { rules: 'chess' } }, 422, 'unknown_rules'],
  ];

  for (const [what, target, options, status, code] of cases) {
    it(`answers ${what} with ${status} ${code} and stores nothing`, async () => {
      const before = await databaseFingerprint(api.db);
      const path = target === 'sessions' ? '/v1/sessions' : `/v1/sessions/${sessionId}/events`;
      const reply = await api.call('POST', path, { key: server.key, ...options });
      expectProblem(reply, status, code);
      expect(await databaseFingerprint(api.db)).toEqual(before);
    });
  }

  it('answers bad query strings with 400', async () => {
    for (const query of ['after=-1', 'after=x', 'limit=0', 'after=1&after=2', 'page=2']) {
      const reply = await api.call('GET', `/v1/sessions/${sessionId}/events?${query}`, {
        key: server.key,
      });
      expectProblem(reply, 400, 'invalid_request');
    }
  });

  it('answers an unknown route with 404 not_found', async () => {
    expectProblem(await api.call('GET', '/v1/nothing', { key: server.key }), 404, 'not_found');
    expectProblem(await api.call('GET', '/', {}), 404, 'not_found');
  });

  it('keeps its own body limit configurable', async () => {
    const small = createServer({
      agate: api.agate,
      logger: pino({ level: 'silent' }),
      bodyLimit: 2048,
    });
    try {
      const reply = await small.inject({
        method: 'POST',
        url: `/v1/sessions/${sessionId}/events`,
        headers: { authorization: `Bearer ${server.key}`, ...json },
        payload: JSON.stringify({
          events: [{ type: 'note.written', data: { text: 'x'.repeat(4096) } }],
        }),
      });
      expect(reply.statusCode).toBe(413);
      expect(reply.json<{ code: string }>().code).toBe('payload_too_large');
    } finally {
      await small.close();
    }
  });
});

describe('health and readiness', () => {
  it('answers /healthz and /readyz without a key when the database is migrated', async () => {
    const health = await api.call('GET', '/healthz');
    expect([health.status, health.json.status]).toEqual([200, 'ok']);
    const ready = await api.call('GET', '/readyz');
    expect([ready.status, ready.json.status]).toEqual([200, 'ready']);
  });

  it('is not ready on a database without the migrations, nor on one it cannot reach', async () => {
    const empty = await createEmptyDatabase();
    const pools = [
      createPool({ connectionString: empty.url }),
      createPool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' }),
    ];
    try {
      for (const pool of pools) {
        const app = createServer({
          agate: createAgate({ pool, games: tinyGames }),
          logger: pino({ level: 'silent' }),
        });
        const ready = await app.inject({ method: 'GET', url: '/readyz' });
        expect(ready.statusCode).toBe(503);
        expect(ready.json<{ code: string; detail: string }>()).toMatchObject({
          code: 'unavailable',
        });
        expect(ready.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
        expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
        await app.close();
      }
    } finally {
      for (const pool of pools) await pool.end();
      await empty.drop();
    }
  });
});

describe('what the document promises about URLs and input', () => {
  it('answers a URL over 8,192 characters with 414 uri_too_long, before authentication', async () => {
    const reply = await api.call(
      'GET',
      `/v1/sessions/${sessionId}/events?after=0${'&x=1'.repeat(2_100)}`,
    );
    expectProblem(reply, 414, 'uri_too_long');
    expect(reply.json.detail).toMatch(/over the limit of 8192/);
  });

  it('answers a path id over 100 characters with 414 uri_too_long', async () => {
    const reply = await api.call('GET', `/v1/sessions/${'a'.repeat(101)}`, { key: server.key });
    expectProblem(reply, 414, 'uri_too_long');
  });

  it('answers a request line over Node’s 16 KiB header limit with a 414 problem, not a bare 431', async () => {
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const address = api.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const response = await fetch(
      `http://127.0.0.1:${port}/v1/sessions/${sessionId}/events?after=0&x=${'a'.repeat(20_000)}`,
    );
    expect(response.status).toBe(414);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 414, code: 'uri_too_long' });
  });

  it('refuses a query parameter the operation does not list, naming it, rather than ignoring it', async () => {
    const reply = await api.call('GET', `/v1/sessions/${sessionId}/events?after=0&limt=5`, {
      key: server.key,
    });
    expectProblem(reply, 400, 'invalid_request');
    expect(reply.json.detail).toMatch(/limt/);
    const doc = (await api.call('GET', '/openapi.json')).json as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
    };
    const read = doc.paths['/v1/sessions/{id}/events']?.get?.responses['400'];
    expect(read?.description).toMatch(/unknown query parameters are refused, never ignored/);
  });

  it('refuses a number a double cannot hold with a 400 naming it, and stores nothing', async () => {
    const before = await databaseFingerprint(api.db);
    const reply = await api.call('POST', `/v1/sessions/${sessionId}/events`, {
      key: server.key,
      headers: json,
      payload: '{"events":[{"type":"note.written","data":{"text":"t","extra":9007199254740993}}]}',
    });
    expectProblem(reply, 400, 'invalid_request');
    expect(reply.json.detail).toMatch(/9007199254740993.*9007199254740992/);
    expect(await databaseFingerprint(api.db)).toEqual(before);
  });

  it('refuses a key sent twice in one object with a 400 naming it, rather than keeping the last', async () => {
    const before = await databaseFingerprint(api.db);
    const reply = await api.call('POST', `/v1/sessions/${sessionId}/events`, {
      key: server.key,
      headers: json,
      payload: '{"events":[{"type":"note.written","data":{"text":"mine","text":"theirs"}}]}',
    });
    expectProblem(reply, 400, 'invalid_request');
    expect(reply.json.detail).toMatch(/"text" twice/);
    expect(await databaseFingerprint(api.db)).toEqual(before);
  });

  it.each([
    ['2026-02-30T00:00:00Z', /February 2026 has 28 days/],
    ['2026-12-31T23:59:60Z', /leap second/],
    ['2026-11-23T12:00:00.1234567Z', /microseconds/],
  ])('refuses clientTime %s with 422 and says why', async (clientTime, why) => {
    const reply = await api.call('POST', `/v1/sessions/${sessionId}/events`, {
      key: server.key,
      body: { events: [{ ...inc(1), clientTime }] },
    });
    expectProblem(reply, 422, 'invalid_event');
    expect(reply.json.detail).toMatch(why);
  });

  it('refuses an empty seed saying it is empty, not that it is too long', async () => {
    const reply = await api.call('POST', '/v1/sessions', {
      key: server.key,
      body: { rules: 'tiny', seed: '' },
    });
    expectProblem(reply, 400, 'invalid_request');
    expect(reply.json.detail).toMatch(/empty/);
    expect(reply.json.detail).not.toMatch(/at most/);
  });
});
