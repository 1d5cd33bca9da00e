import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { AgateClient } from '../../src/client/index.js';
import type { AppendManyBatch, NewEvent } from '../../src/client/index.js';
import { createApiFixture, databaseFingerprint } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';

let api: ApiFixture;
let server: TestKey;
let analyst: TestKey;
let baseUrl: string;

beforeAll(async () => {
  api = await createApiFixture();
  const tenantId = await api.newTenant();
  server = await api.newKey(tenantId, 'game_server');
  analyst = await api.newKey(tenantId, 'analyst');
  baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => api.close());

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });

async function sessions(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const created = await api.call('POST', '/v1/sessions', {
      key: server.key,
      body: { rules: 'tiny' },
    });
    ids.push(String(created.json.id));
  }
  return ids;
}

async function lastSequence(id: string): Promise<number> {
  const got = await api.call('GET', `/v1/sessions/${id}`, { key: server.key });
  return Number(got.json.lastSequence);
}

describe('POST /v1/appends', () => {
  it('stores 64 sessions in one request, a result per session in order', async () => {
    const ids = await sessions(64);
    const reply = await api.call('POST', '/v1/appends', {
      key: server.key,
      body: { sessions: ids.map((sessionId) => ({ sessionId, events: [inc(1), inc(2)] })) },
    });
    expect(reply.status).toBe(200);
    const results = reply.json.results as Record<string, unknown>[];
    expect(results.map((r) => r.sessionId)).toEqual(ids);
    for (const r of results) {
      expect(r).toMatchObject({ ok: true, duplicate: false, firstSequence: 1, lastSequence: 2 });
    }
    expect(await lastSequence(ids[63]!)).toBe(2);
  });

  it('answers each failed session with its code, the others stored', async () => {
    const [ok, conflicted, unknownType] = await sessions(3);
    const reply = await api.call('POST', '/v1/appends', {
      key: server.key,
      body: {
        sessions: [
          { sessionId: ok, events: [inc(1)] },
          { sessionId: conflicted, events: [inc(1)], expectedSequence: 3 },
          { sessionId: uuidv7(), events: [inc(1)] },
          { sessionId: unknownType, events: [{ type: 'nope', version: 1, data: {} }] },
        ],
      },
    });
    expect(reply.status).toBe(200);
    const results = reply.json.results as Record<string, unknown>[];
    expect(results.map((r) => (r.ok === true ? 'ok' : r.code))).toEqual([
      'ok',
      'sequence_conflict',
      'session_not_found',
      'unknown_event_type',
    ]);
    expect(results[3]).toMatchObject({ index: 0 });
    expect(results[1]).toMatchObject({ currentSequence: 0 });
    const metrics = await api.call('GET', '/metrics');
    expect(String(metrics.body)).toMatch(
      /agate_append_conflicts_total\{code="sequence_conflict"\} [1-9]/,
    );
  });

  it('answers a sessionId that is not a UUID as that session not found, the others stored', async () => {
    // As POST /v1/sessions/not-a-uuid/events answers 404 session_not_found: no such session.
    const [ok] = await sessions(1);
    const reply = await api.call('POST', '/v1/appends', {
      key: server.key,
      body: {
        sessions: [
          { sessionId: 'not-a-uuid', events: [inc(1)] },
          { sessionId: ok, events: [inc(1)] },
        ],
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.json.results).toMatchObject([
      { sessionId: 'not-a-uuid', ok: false, code: 'session_not_found' },
      { sessionId: ok, ok: true, firstSequence: 1 },
    ]);
    expect(await lastSequence(ok!)).toBe(1);
    const single = await api.call('POST', '/v1/sessions/not-a-uuid/events', {
      key: server.key,
      body: { events: [inc(1)] },
    });
    expect(single).toMatchObject({ status: 404, json: { code: 'session_not_found' } });
  });

  it('refuses 65 sessions with batch_too_large and stores nothing', async () => {
    const ids = await sessions(1);
    const before = await databaseFingerprint(api.db);
    const reply = await api.call('POST', '/v1/appends', {
      key: server.key,
      body: {
        sessions: Array.from({ length: 65 }, (_, i) => ({
          sessionId: i === 0 ? ids[0] : uuidv7(),
          events: [inc(1)],
        })),
      },
    });
    expect(reply.status).toBe(413);
    expect(reply.json).toMatchObject({ code: 'batch_too_large', sessions: 65, limit: 64 });
    expect(await databaseFingerprint(api.db)).toEqual(before);
  });

  it('refuses a session named twice, a body that is not a list, and another role', async () => {
    const [id] = await sessions(1);
    const twice = await api.call('POST', '/v1/appends', {
      key: server.key,
      body: { sessions: [id, id].map((sessionId) => ({ sessionId, events: [inc(1)] })) },
    });
    expect(twice.status).toBe(400);
    expect(twice.json).toMatchObject({ code: 'invalid_request' });
    const notList = await api.call('POST', '/v1/appends', {
      key: server.key,
      body: { sessions: { sessionId: id, events: [inc(1)] } },
    });
    expect(notList.status).toBe(400);
    const forbidden = await api.call('POST', '/v1/appends', {
      key: analyst.key,
      body: { sessions: [{ sessionId: id, events: [inc(1)] }] },
    });
    expect(forbidden.status).toBe(403);
    expect(await lastSequence(id!)).toBe(0);
  });
});

type Recorded = { body: string };

/** The real fetch; when `drop` says so, the answer is thrown away as if the connection broke. */
function recordingFetch(drop: (n: number) => boolean = () => false) {
  const calls: Recorded[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    calls.push({ body: typeof init?.body === 'string' ? init.body : '' });
    const response = await fetch(input, init);
    if (!drop(calls.length)) return response;
    await response.text();
    throw new TypeError('fetch failed');
  };
  return { fetch: wrapped, calls };
}

describe('the client', () => {
  it('retries appendMany after a lost answer with the same ids and gets the same sequences', async () => {
    const ids = await sessions(3);
    const recorder = recordingFetch((n) => n === 1);
    const client = new AgateClient({ baseUrl, apiKey: server.key, backoffMs: 1, ...recorder });
    const batches: AppendManyBatch[] = ids.map((sessionId) => ({
      sessionId,
      events: [inc(1), inc(2)],
    }));
    const { results } = await client.appendMany(batches);
    expect(recorder.calls).toHaveLength(2);
    expect(recorder.calls[1]!.body).toBe(recorder.calls[0]!.body);
    for (const r of results) {
      expect(r).toMatchObject({ ok: true, duplicate: true, firstSequence: 1, lastSequence: 2 });
    }
    for (const id of ids) expect(await lastSequence(id)).toBe(2);
  });

  it('flushes the writer by time, merging each session’s appends in order', async () => {
    const ids = await sessions(2);
    const recorder = recordingFetch();
    const client = new AgateClient({ baseUrl, apiKey: server.key, ...recorder });
    const writer = client.writer({ maxDelayMs: 5 });
    const answers = await Promise.all([
      writer.append(ids[0]!, [inc(1)]),
      writer.append(ids[1]!, [inc(1), inc(2)]),
      writer.append(ids[0]!, [inc(2), inc(3)]),
    ]);
    expect(recorder.calls).toHaveLength(1);
    expect(answers).toMatchObject([
      { ok: true, sessionId: ids[0], firstSequence: 1, lastSequence: 1 },
      { ok: true, sessionId: ids[1], firstSequence: 1, lastSequence: 2 },
      { ok: true, sessionId: ids[0], firstSequence: 2, lastSequence: 3 },
    ]);
    await writer.close();
  });

  it('flushes the writer by size and by session count, one request at a time', async () => {
    const ids = await sessions(66);
    const recorder = recordingFetch();
    const client = new AgateClient({ baseUrl, apiKey: server.key, ...recorder });
    const writer = client.writer({ maxDelayMs: 60_000, maxEvents: 4 });
    const events: NewEvent[] = [inc(1), inc(2)];
    const bySize = [writer.append(ids[0]!, events), writer.append(ids[1]!, events)];
    const sized = await Promise.all(bySize);
    expect(sized.every((r) => r.ok)).toBe(true);
    expect(recorder.calls).toHaveLength(1);
    const wide = client.writer({ maxDelayMs: 60_000, maxEvents: 1_000 });
    const byCount = ids.slice(2).map((id) => wide.append(id, [inc(1)]));
    const counted = await Promise.all(byCount);
    expect(counted.every((r) => r.ok)).toBe(true);
    expect(recorder.calls).toHaveLength(2);
    await Promise.all([writer.close(), wide.close()]);
  });

  it('keeps the writer idempotent through a lost answer', async () => {
    const ids = await sessions(2);
    const recorder = recordingFetch((n) => n === 1);
    const client = new AgateClient({ baseUrl, apiKey: server.key, backoffMs: 1, ...recorder });
    const writer = client.writer();
    const answers = await Promise.all(ids.map((id) => writer.append(id, [inc(1), inc(2)])));
    expect(recorder.calls).toHaveLength(2);
    expect(answers).toMatchObject([
      { ok: true, duplicate: true, lastSequence: 2 },
      { ok: true, duplicate: true, lastSequence: 2 },
    ]);
    for (const id of ids) expect(await lastSequence(id)).toBe(2);
    await writer.close();
    await expect(writer.append(ids[0]!, [inc(3)])).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});
