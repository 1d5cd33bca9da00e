import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';

let api: ApiFixture;
let server: TestKey;

beforeAll(async () => {
  api = await createApiFixture();
  server = await api.newKey(await api.newTenant(), 'game_server');
});
afterAll(() => api.close());

async function newSession(): Promise<string> {
  const created = await api.call('POST', '/v1/sessions', {
    key: server.key,
    body: { rules: 'tiny' },
  });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

describe('the game-server flow over HTTP', () => {
  it('creates a session, appends, retries, reads pages and state, ends it, and refuses appends after the end', async () => {
    const created = await api.call('POST', '/v1/sessions', {
      key: server.key,
      body: { rules: 'tiny', seed: 'flow-seed', config: {} },
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.any(String) as string,
      seed: 'flow-seed',
      rules: 'tiny',
      rulesVersion: 1,
      lastSequence: 0,
    });
    const id = created.json.id as string;
    const events = `/v1/sessions/${id}/events`;

    const batch = { events: [inc(1, uuidv7()), inc(2, uuidv7()), inc(3, uuidv7())] };
    const first = await api.call('POST', events, { key: server.key, body: batch });
    expect(first.status).toBe(201);
    expect(first.json).toEqual({
      firstSequence: 1,
      lastSequence: 3,
      events: batch.events.map((e, i) => ({ eventId: e.eventId, sequence: i + 1 })),
    });

    const retried = await api.call('POST', events, { key: server.key, body: batch });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual(first.body);

    const expected = await api.call('POST', events, {
      key: server.key,
      body: { expectedSequence: 3, events: [inc(4), inc(5)] },
    });
    expect(expected.status).toBe(201);
    expect(expected.json).toMatchObject({ firstSequence: 4, lastSequence: 5 });

    const stale = await api.call('POST', events, {
      key: server.key,
      body: { expectedSequence: 3, events: [inc(6)] },
    });
    expect(stale.status).toBe(409);
    expect(stale.raw.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(stale.json).toMatchObject({
      code: 'sequence_conflict',
      status: 409,
      currentSequence: 5,
    });

    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = await api.call('GET', `${events}?after=${after}&limit=2`, { key: server.key });
      expect(page.status).toBe(200);
      const body = page.json as { events: { sequence: number }[]; nextAfter: number | null };
      seen.push(...body.events.map((e) => e.sequence));
      if (body.nextAfter === null) break;
      after = body.nextAfter;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);

    const state = await api.call('GET', `/v1/sessions/${id}/state`, { key: server.key });
    const truth = await api.agate.replay({
      tenantId: server.tenantId,
      sessionId: id,
      from: 'genesis',
    });
    expect(state.status).toBe(200);
    expect(state.json).toEqual({ sequence: 5, stateHash: truth.stateHash, state: truth.state });
    expect((state.json.state as { total: number }).total).toBe(15);

    const ended = await api.call('POST', `/v1/sessions/${id}/end`, {
      key: server.key,
      body: { reason: 'done' },
    });
    expect(ended.status).toBe(201);
    expect(ended.json).toMatchObject({ firstSequence: 6, lastSequence: 6 });

    const session = await api.call('GET', `/v1/sessions/${id}`, { key: server.key });
    expect(session.status).toBe(200);
    expect(session.json).toMatchObject({ id, status: 'ended', lastSequence: 6, seed: 'flow-seed' });
    expect(session.json).not.toHaveProperty('tenantId');

    const late = await api.call('POST', events, { key: server.key, body: { events: [inc(7)] } });
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ code: 'session_ended', currentSequence: 6 });
    const endAgain = await api.call('POST', `/v1/sessions/${id}/end`, { key: server.key });
    expect(endAgain.status).toBe(409);
    expect(endAgain.json.code).toBe('session_ended');
  });

  it("plays the server's only game when the request names none, with a seed drawn for it", async () => {
    const created = await api.call('POST', '/v1/sessions', { key: server.key });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ rules: 'tiny', rulesVersion: 1, lastSequence: 0 });
    expect(created.json.seed).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses unknown types, invalid events, oversized batches and partial retries with their codes', async () => {
    const id = await newSession();
    const events = `/v1/sessions/${id}/events`;
    const send = (body: unknown) => api.call('POST', events, { key: server.key, body });

    const unknown = await send({ events: [{ type: 'counter.exploded', data: {} }] });
    expect([unknown.status, unknown.json.code]).toEqual([422, 'unknown_event_type']);
    const invalid = await send({
      events: [inc(1), { type: 'counter.incremented', data: { by: 'x' } }],
    });
    expect([invalid.status, invalid.json.code, invalid.json.index]).toEqual([
      422,
      'invalid_event',
      1,
    ]);
    const big = await send({ events: Array.from({ length: 501 }, (_, i) => inc(i)) });
    expect([big.status, big.json.code]).toEqual([413, 'batch_too_large']);
    const fat = await send({
      events: [{ type: 'note.written', data: { text: 'x'.repeat(70 * 1024) } }],
    });
    expect([fat.status, fat.json.code]).toEqual([413, 'payload_too_large']);

    const stored = uuidv7();
    expect((await send({ events: [inc(1, stored)] })).status).toBe(201);
    const partial = await send({ events: [inc(1, stored), inc(2, uuidv7())] });
    expect([partial.status, partial.json.code]).toEqual([409, 'event_id_conflict']);

    const session = await api.call('GET', `/v1/sessions/${id}`, { key: server.key });
    expect(session.json.lastSequence).toBe(1);
  });

  it('reports a missing session as 404 session_not_found on every session route', async () => {
    const missing = uuidv7();
    for (const [method, path] of [
      ['GET', ''],
      ['GET', '/events'],
      ['GET', '/state'],
      ['POST', '/events'],
      ['POST', '/end'],
    ] as const) {
      const reply = await api.call(method, `/v1/sessions/${missing}${path}`, {
        key: server.key,
        ...(method === 'POST' && path === '/events' ? { body: { events: [inc(1)] } } : {}),
      });
      expect([reply.status, reply.json.code]).toEqual([404, 'session_not_found']);
    }
    const malformed = await api.call('GET', '/v1/sessions/not-a-uuid', { key: server.key });
    expect([malformed.status, malformed.json.code]).toEqual([404, 'session_not_found']);
  });

  it('serves the same API over the network on a random port', async () => {
    const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
    const health = await fetch(`${address}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const created = await fetch(`${address}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rules: 'tiny' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const appended = await fetch(`${address}/v1/sessions/${id}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [inc(2)] }),
    });
    expect(appended.status).toBe(201);
    const refused = await fetch(`${address}/v1/sessions/${id}`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
  });
});
