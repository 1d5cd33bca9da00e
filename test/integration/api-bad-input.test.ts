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
      'a 2 MiB body',
      'events',
      {
        payload: JSON.stringify({
          events: [{ type: 'note.written', data: { text: 'x'.repeat(2 * 1024 * 1024) } }],
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
