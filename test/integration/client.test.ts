import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { AgateClient, AgateClientError } from '../../src/client/index.js';
import type { AgateClientOptions, NewEvent, StoredEvent } from '../../src/client/index.js';
import { createApiFixture } from '../support/api.js';
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

function client(options: Partial<AgateClientOptions> = {}): AgateClient {
  return new AgateClient({ baseUrl, apiKey: server.key, backoffMs: 1, ...options });
}

async function refusal(promise: Promise<unknown>): Promise<AgateClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgateClientError);
  return error as AgateClientError;
}

type Recorded = { method: string; url: string };

/**
 * The real fetch, with every call recorded; when `drop` says so, the request reaches the server
 * but its answer is read and thrown away, as when a connection breaks on the way back.
 */
function countingFetch(drop: (call: Recorded, n: number) => boolean = () => false) {
  const calls: Recorded[] = [];
  const dropped: string[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const call = {
      method: init?.method ?? 'GET',
      url: input instanceof Request ? input.url : String(input),
    };
    calls.push(call);
    const response = await fetch(input, init);
    if (!drop(call, calls.length)) return response;
    dropped.push(await response.text());
    throw new TypeError('fetch failed');
  };
  return { fetch: wrapped, calls, dropped };
}

async function allEvents(agate: AgateClient, sessionId: string, pageSize?: number) {
  const pages: StoredEvent[][] = [];
  for await (const page of agate.readEvents(sessionId, { pageSize })) pages.push(page.events);
  return pages;
}

describe('the game-server flow through AgateClient', () => {
  it('creates, appends, conflicts, reads every page, reads state, ends and refuses appends after the end', async () => {
    const agate = client();
    const created = await agate.createSession({ rules: 'tiny', seed: 'client-seed' });
    expect(created).toMatchObject({ seed: 'client-seed', rules: 'tiny', lastSequence: 0 });
    const id = created.id;

    const first = await agate.append(id, [inc(1), inc(2), inc(3)]);
    expect(first).toMatchObject({ firstSequence: 1, lastSequence: 3, duplicate: false });
    expect(first.events.map((e) => e.sequence)).toEqual([1, 2, 3]);
    for (const e of first.events) expect(e.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);

    const mine = uuidv7();
    const second = await agate.append(id, [{ ...inc(4), eventId: mine }, inc(5)], {
      expectedSequence: 3,
    });
    expect(second).toMatchObject({ firstSequence: 4, lastSequence: 5 });
    expect(second.events[0]).toEqual({ eventId: mine, sequence: 4 });

    const stale = await refusal(agate.append(id, [inc(6)], { expectedSequence: 3 }));
    expect([stale.code, stale.status, stale.currentSequence]).toEqual([
      'sequence_conflict',
      409,
      5,
    ]);
    expect(stale.extra.currentSequence).toBe(5);
    expect(stale.detail).toMatch(/expectedSequence 5/);

    const pages = await allEvents(agate, id, 2);
    expect(pages.map((p) => p.map((e) => e.sequence))).toEqual([[1, 2], [3, 4], [5]]);
    const fromThree: number[] = [];
    for await (const page of agate.readEvents(id, { after: 3 })) {
      fromThree.push(...page.events.map((e) => e.sequence));
    }
    expect(fromThree).toEqual([4, 5]);

    const state = await agate.state(id);
    expect(state.sequence).toBe(5);
    expect((state.state as { total: number }).total).toBe(15);

    const ended = await agate.endSession(id, { reason: 'done' });
    expect(ended).toMatchObject({ firstSequence: 6, lastSequence: 6, duplicate: false });
    const session = await agate.getSession(id);
    expect(session).toMatchObject({ id, status: 'ended', lastSequence: 6, seed: 'client-seed' });

    const late = await refusal(agate.append(id, [inc(7)]));
    expect([late.code, late.status, late.currentSequence]).toEqual(['session_ended', 409, 6]);

    const endState = await agate.state(id);
    const replay = await client({ apiKey: analyst.key }).replay(id, { verify: true, trace: true });
    expect(replay).toMatchObject({ sequence: 6, stateHash: endState.stateHash, verified: true });
    expect(replay.trace?.map((t) => t.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    const upTo = await client({ apiKey: analyst.key }).replay(id, { to: 5, from: 'genesis' });
    expect(upTo).toMatchObject({ sequence: 5, stateHash: state.stateHash, verified: null });
  });

  it('reports a missing session as session_not_found with status 404', async () => {
    const missing = await refusal(client().getSession(uuidv7()));
    expect([missing.code, missing.status]).toEqual(['session_not_found', 404]);
    const forbidden = await refusal(client({ apiKey: server.key }).replay(uuidv7()));
    expect([forbidden.code, forbidden.status]).toEqual(['forbidden', 403]);
  });
});

describe('retries', () => {
  it('retries an append whose answer was lost with the same event ids, and stores each event once', async () => {
    const id = (await client().createSession({ rules: 'tiny' })).id;
    await client().append(id, [inc(1)]);
    const flaky = countingFetch(
      (call, n) => call.method === 'POST' && call.url.endsWith('/events') && n === 1,
    );
    const agate = client({ fetch: flaky.fetch });

    const result = await agate.append(id, [inc(2), inc(3), inc(4)]);

    expect(flaky.calls).toHaveLength(2);
    expect(flaky.dropped).toHaveLength(1);
    const lost = JSON.parse(flaky.dropped[0] ?? '') as Record<string, unknown>;
    expect(result.duplicate).toBe(true);
    expect({ firstSequence: result.firstSequence, lastSequence: result.lastSequence }).toEqual({
      firstSequence: 2,
      lastSequence: 4,
    });
    expect(result.events).toEqual(lost.events);
    const stored = (await allEvents(client(), id)).flat();
    expect(stored.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    expect(stored.slice(1).map((e) => e.eventId)).toEqual(result.events.map((e) => e.eventId));
    expect((await client().getSession(id)).lastSequence).toBe(4);
  });

  it('retries an end whose answer was lost, and the session ends once', async () => {
    const id = (await client().createSession({ rules: 'tiny' })).id;
    const flaky = countingFetch(
      (call, n) => call.method === 'POST' && call.url.endsWith('/end') && n === 1,
    );
    const ended = await client({ fetch: flaky.fetch }).endSession(id, { reason: 'lost answer' });
    expect(flaky.calls).toHaveLength(2);
    expect(ended).toMatchObject({ firstSequence: 1, lastSequence: 1, duplicate: true });
    expect((await client().getSession(id)).lastSequence).toBe(1);
  });

  it('never retries a 4xx', async () => {
    const id = (await client().createSession({ rules: 'tiny' })).id;
    const counted = countingFetch();
    const agate = client({ fetch: counted.fetch, retries: 5 });

    const invalid = await refusal(
      agate.append(id, [{ type: 'counter.incremented', version: 1, data: { by: 'x' } }]),
    );
    expect([invalid.code, invalid.status, invalid.extra.index]).toEqual(['invalid_event', 422, 0]);
    const conflict = await refusal(agate.append(id, [inc(1)], { expectedSequence: 9 }));
    expect(conflict.code).toBe('sequence_conflict');
    const missing = await refusal(agate.state(uuidv7()));
    expect(missing.code).toBe('session_not_found');
    const unauthorized = await refusal(
      client({ fetch: counted.fetch, apiKey: 'not-a-key' }).getSession(id),
    );
    expect([unauthorized.code, unauthorized.status]).toEqual(['unauthorized', 401]);

    expect(counted.calls).toHaveLength(4);
    expect((await client().getSession(id)).lastSequence).toBe(0);
  });

  it('retries 502, 503 and 504 a bounded number of times, then surfaces the last problem', async () => {
    let calls = 0;
    const unavailable: typeof fetch = () => {
      calls += 1;
      const status = [502, 504, 503][(calls - 1) % 3] ?? 503;
      const body = {
        type: 'urn:agate:error:unavailable',
        title: 'x',
        status,
        detail: 'later',
        code: 'unavailable',
      };
      return Promise.resolve(
        new Response(JSON.stringify(body), {
          status,
          headers: { 'content-type': 'application/problem+json' },
        }),
      );
    };
    const error = await refusal(
      client({ fetch: unavailable, retries: 2 }).append(uuidv7(), [inc(1)]),
    );
    expect(calls).toBe(3);
    expect([error.code, error.status]).toEqual(['unavailable', 503]);
  });

  it('gives up on network errors after the retries with network_error, and never retries createSession', async () => {
    let calls = 0;
    const down: typeof fetch = () => {
      calls += 1;
      return Promise.reject(new TypeError('fetch failed'));
    };
    const read = await refusal(client({ fetch: down, retries: 3 }).getSession(uuidv7()));
    expect([read.code, read.status, calls]).toEqual(['network_error', 0, 4]);
    expect(read.cause).toBeInstanceOf(TypeError);

    calls = 0;
    const create = await refusal(client({ fetch: down, retries: 3 }).createSession());
    expect([create.code, calls]).toEqual(['network_error', 1]);
  });

  it('reports an answer that is not a problem document as unexpected_response', async () => {
    const proxy: typeof fetch = () =>
      Promise.resolve(new Response('<html>bad gateway</html>', { status: 502 }));
    const error = await refusal(client({ fetch: proxy, retries: 1 }).state(uuidv7()));
    expect([error.code, error.status]).toEqual(['unexpected_response', 502]);
  });
});
