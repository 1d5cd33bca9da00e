import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createServer } from '../../src/api/index.js';
import { appendEvents, feedStart, formatFeedPosition } from '../../src/events/index.js';
import type { NewEvent } from '../../src/events/index.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { sseMessages } from '../support/sse-reader.js';
import type { SseMessage } from '../support/sse-reader.js';
import type { FeedEventJson } from '../../src/api/index.js';

type FeedPageJson = { events: FeedEventJson[]; next: string; held: boolean };

let api: ApiFixture;
let tenantId: string;
let keys: Record<'game_server' | 'analyst' | 'admin', TestKey>;
let streaming: FastifyInstance;
let baseUrl: string;

const note = (text: string): NewEvent => ({ type: 'note.written', version: 1, data: { text } });

async function newSession(tenant = tenantId): Promise<string> {
  const session = await api.agate.store.createSession({
    tenantId: tenant,
    rules: 'tiny',
    seed: `feed-${uuidv7()}`,
  });
  return session.id;
}

async function append(sessionId: string, events: NewEvent[], tenant = tenantId): Promise<void> {
  const result = await api.agate.store.appendEvents({ tenantId: tenant, sessionId, events });
  expect(result.ok).toBe(true);
}

async function page(query: string, key: TestKey = keys.game_server): Promise<FeedPageJson> {
  const reply = await api.call('GET', `/v1/feed${query}`, { key: key.key });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as FeedPageJson;
}

/**
 * Follows `next` from `after` until `count` events have come (any open write transaction on the
 * server holds every feed back, so they may take a while), then checks that nothing follows.
 */
async function readCount(
  query: string,
  count: number,
  options: { after?: string; key?: TestKey } = {},
): Promise<{ events: FeedEventJson[]; next: string }> {
  const events: FeedEventJson[] = [];
  let next = options.after ?? formatFeedPosition(feedStart);
  const deadline = Date.now() + 10_000;
  while (events.length < count) {
    const answer = await page(`?after=${next}&limit=7${query}`, options.key);
    events.push(...answer.events);
    if (answer.events.length > 0) {
      expect(answer.next).toBe(answer.events.at(-1)?.position);
      next = answer.next;
    } else if (Date.now() > deadline) {
      throw new Error(`${events.length} of ${count} events came for ${query}`);
    } else await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect((await page(`?after=${next}${query}`, options.key)).events).toEqual([]);
  return { events, next };
}

/** A tenant of its own for a test that reads the whole feed, and its game-server key. */
async function freshTenant(): Promise<{ tenant: string; key: TestKey }> {
  const tenant = await api.newTenant('feed reader');
  return { tenant, key: await api.newKey(tenant, 'game_server') };
}

/** An append left open in its transaction: its events are written, not committed. */
async function openAppend(tenant: string, sessionId: string, events: NewEvent[]) {
  const client = await api.db.pool.connect();
  await client.query('BEGIN');
  const result = await appendEvents(
    { ...api.agate.store.deps, pool: client as never, afterAppend: [] },
    { tenantId: tenant, sessionId, events },
  );
  expect(result.ok).toBe(true);
  return {
    commit: async () => {
      await client.query('COMMIT');
      client.release();
    },
    rollback: async () => {
      await client.query('ROLLBACK');
      client.release();
    },
  };
}

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant('feed');
  keys = {
    game_server: await api.newKey(tenantId, 'game_server'),
    analyst: await api.newKey(tenantId, 'analyst'),
    admin: await api.newKey(tenantId, 'admin'),
  };
  streaming = createServer({
    agate: api.agate,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
    feedStream: { heartbeatMs: 50, idlePollMs: 20 },
  });
  await streaming.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(streaming.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  // fetch (undici) can leave idle sockets behind aborted streams, which a graceful close would
  // wait out for the keep-alive timeout; the test that closes with a stream open is below.
  const closing = streaming.close();
  streaming.server.closeAllConnections();
  await closing;
  await api.close();
});

describe('GET /v1/feed as JSON pages', () => {
  it('delivers every committed event once, in feed order, following next page by page', async () => {
    const { tenant, key } = await freshTenant();
    const a = await newSession(tenant);
    const b = await newSession(tenant);
    await append(a, [inc(1), inc(2), inc(3)], tenant);
    await append(b, [inc(10), note('b2')], tenant);
    await append(a, [note('a4'), inc(5)], tenant);
    const { events } = await readCount('', 7, { key });
    expect(events.map((e) => [e.sessionId, e.sequence])).toEqual([
      [a, 1],
      [a, 2],
      [a, 3],
      [b, 1],
      [b, 2],
      [a, 4],
      [a, 5],
    ]);
    for (const e of events) expect(e.previousSequence).toBe(e.sequence - 1);
    const first = events[0];
    expect(first).toMatchObject({ type: 'counter.incremented', version: 1, data: { by: 1 } });
    expect(first?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(new Date(first?.serverTime ?? '').toISOString()).toBe(first?.serverTime);
    expect(first?.position).toMatch(new RegExp(`^\\d+:${a}:1$`));
  });

  it('filters by type, with previousSequence counting only the events that pass', async () => {
    const s = await newSession();
    await append(s, [note('1'), inc(2), inc(3), note('4'), inc(5), note('6')]);
    const { events } = await readCount(`&types=note.written,dice.rolled&session=${s}`, 3);
    expect(events.map((e) => [e.type, e.sequence, e.previousSequence])).toEqual([
      ['note.written', 1, 0],
      ['note.written', 4, 1],
      ['note.written', 6, 4],
    ]);
  });

  it('filters by session, and another tenant’s session yields nothing, as a missing one does', async () => {
    const { tenant, key } = await freshTenant();
    const mine = await newSession(tenant);
    const other = await api.newTenant('feed other');
    const theirs = await newSession(other);
    await append(theirs, [inc(1), inc(2)], other);
    await append(mine, [inc(1)], tenant);
    // Once the later append is delivered, the earlier one is past the horizon too.
    const { events } = await readCount('', 1, { key });
    expect(events.map((e) => e.sessionId)).toEqual([mine]);
    const foreign = await page(`?session=${theirs}`, key);
    expect(foreign.events).toEqual([]);
    expect(foreign.next).toBe(formatFeedPosition(feedStart));
    const own = await readCount(`&session=${theirs}`, 2, {
      key: await api.newKey(other, 'analyst'),
    });
    expect(own.events.map((e) => e.sequence)).toEqual([1, 2]);
  });

  it('is readable by game servers, analysts and admins alike, and not by an operator key', async () => {
    const s = await newSession();
    await append(s, [inc(1), inc(2)]);
    for (const key of Object.values(keys)) {
      const { events } = await readCount(`&session=${s}`, 2, { key });
      expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    }
    const operator = await api.newOperatorKey();
    const refused = await api.call('GET', '/v1/feed', { key: operator.key });
    expect(refused.status).toBe(403);
    expect((await api.call('GET', '/v1/feed')).status).toBe(401);
  });

  it('refuses a bad position, a limit out of range, an unknown parameter and after with from', async () => {
    const cases = [
      '?after=12',
      '?after=1:not-a-session:3',
      '?after=-1:00000000-0000-0000-0000-000000000000:0',
      '?limit=0',
      '?limit=1001',
      '?limit=ten',
      '?from=later',
      '?colour=red',
      `?after=${formatFeedPosition(feedStart)}&from=now`,
      '?session=nope',
      '?types=a,,b',
    ];
    for (const query of cases) {
      const reply = await api.call('GET', `/v1/feed${query}`, { key: keys.analyst.key });
      expect(reply.status, query).toBe(400);
      expect(reply.json.code, query).toBe('invalid_request');
      expect(String(reply.raw.headers['content-type'])).toContain('application/problem+json');
    }
  });

  it('honours limit: a page holds at most that many events', async () => {
    const s = await newSession();
    await append(s, [inc(1), inc(2), inc(3)]);
    await readCount(`&session=${s}`, 3);
    const answer = await page(`?session=${s}&limit=2`);
    expect(answer.events.map((e) => e.sequence)).toEqual([1, 2]);
    const rest = await page(`?session=${s}&limit=2&after=${answer.next}`);
    expect(rest.events.map((e) => e.sequence)).toEqual([3]);
  });

  it('holds back events behind an open append until it commits, then delivers both, skipping none', async () => {
    const { tenant, key } = await freshTenant();
    const slow = await newSession(tenant);
    const fast = await newSession(tenant);
    const open = await openAppend(tenant, slow, [inc(1), inc(2)]);
    await append(fast, [inc(7)], tenant);
    const waiting = await page('', key);
    expect(waiting.events).toEqual([]);
    expect(waiting.held).toBe(true);
    expect(waiting.next).toBe(formatFeedPosition(feedStart));
    await open.commit();
    const { events } = await readCount('', 3, { key });
    expect(events.map((e) => [e.sessionId, e.sequence])).toEqual([
      [slow, 1],
      [slow, 2],
      [fast, 1],
    ]);
  });

  it('never delivers the events of an append that rolled back', async () => {
    const { tenant, key } = await freshTenant();
    const s = await newSession(tenant);
    const open = await openAppend(tenant, s, [inc(1)]);
    await open.rollback();
    await append(s, [note('kept')], tenant);
    const { events } = await readCount('', 1, { key });
    expect(events.map((e) => [e.sessionId, e.sequence, e.type])).toEqual([[s, 1, 'note.written']]);
  });

  it('starts from now: what commits later comes, in order, after the position it answers', async () => {
    const s = await newSession();
    await append(s, [inc(1)]);
    const now = await page(`?from=now&session=${s}`);
    // Event 1 committed before now; a transaction open elsewhere on the server (another test's)
    // can keep it past the horizon now was taken at, and then it comes in this page.
    if (now.events.length === 0)
      expect(now.next).toMatch(/^\d+:ffffffff-ffff-ffff-ffff-ffffffffffff:9007199254740991$/);
    else expect(now.events.map((e) => e.sequence)).toEqual([1]);
    await append(s, [inc(2)]);
    // A transaction open elsewhere on the server can keep event 1 behind now: it may come again.
    const deadline = Date.now() + 10_000;
    let events: FeedEventJson[] = [];
    while (!events.some((e) => e.sequence === 2)) {
      if (Date.now() > deadline) throw new Error('event 2 never came after now');
      events = (await page(`?after=${now.next}&session=${s}`)).events;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(events.map((e) => e.sequence).slice(-1)).toEqual([2]);
    for (const e of events) {
      expect(BigInt(e.position.split(':')[0] ?? '0')).toBeGreaterThan(
        BigInt(now.next.split(':')[0] ?? '0'),
      );
    }
  });
});

type Stream = { messages: AsyncGenerator<SseMessage, void, undefined>; stop: () => void };

async function openStream(
  query: string,
  headers: Record<string, string> = {},
): Promise<{ response: Response; stream: Stream }> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/v1/feed${query}`, {
    headers: {
      authorization: `Bearer ${keys.analyst.key}`,
      accept: 'text/event-stream',
      ...headers,
    },
    signal: controller.signal,
  });
  const body = response.body;
  if (body === null) throw new Error('no body');
  const messages = sseMessages(body);
  return { response, stream: { messages, stop: () => controller.abort() } };
}

/** The next `count` feed events of the stream (keep-alive comments are passed over). */
async function take(stream: Stream, count: number): Promise<FeedEventJson[]> {
  const taken: FeedEventJson[] = [];
  while (taken.length < count) {
    const next = await stream.messages.next();
    if (next.done === true) throw new Error(`the stream ended after ${taken.length} events`);
    const message = next.value;
    if (message.kind !== 'event') continue;
    expect(message.event).toBe('feed.event');
    const event = JSON.parse(message.data) as FeedEventJson;
    expect(message.id).toBe(event.position);
    taken.push(event);
  }
  return taken;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function openGauge(): Promise<number> {
  const reply = await streaming.inject({ method: 'GET', url: '/metrics' });
  const line = /^agate_feed_streams_open (\d+)$/m.exec(reply.body);
  if (line?.[1] === undefined) throw new Error('agate_feed_streams_open is not exposed');
  return Number(line[1]);
}

describe('GET /v1/feed as Server-Sent Events', () => {
  it('streams the stored events, then live ones as they commit', async () => {
    const s = await newSession();
    await append(s, [inc(1), inc(2)]);
    const { response, stream } = await openStream(`?session=${s}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-request-id')).not.toBeNull();
    expect((await take(stream, 2)).map((e) => e.sequence)).toEqual([1, 2]);
    await append(s, [inc(3), note('4')]);
    const live = await take(stream, 2);
    expect(live.map((e) => [e.sequence, e.type])).toEqual([
      [3, 'counter.incremented'],
      [4, 'note.written'],
    ]);
    stream.stop();
  });

  it('resumes after Last-Event-ID with the rest, each exactly once, even when after says otherwise', async () => {
    const s = await newSession();
    await append(
      s,
      Array.from({ length: 12 }, (_, i) => inc(i)),
    );
    const first = await openStream(`?session=${s}&limit=5`);
    const seen = await take(first.stream, 5);
    first.stream.stop();
    const resumed = await openStream(
      `?session=${s}&limit=5&after=${formatFeedPosition(feedStart)}`,
      {
        'last-event-id': seen.at(-1)?.position ?? '',
      },
    );
    const rest = await take(resumed.stream, 7);
    expect([...seen, ...rest].map((e) => e.sequence)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    await append(s, [inc(99)]);
    expect((await take(resumed.stream, 1)).map((e) => e.sequence)).toEqual([13]);
    resumed.stream.stop();
  });

  it('refuses a bad Last-Event-ID with a problem document before any stream starts', async () => {
    const { response } = await openStream('', { 'last-event-id': 'yesterday' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as { code: string; detail: string };
    expect(problem.code).toBe('invalid_request');
    expect(problem.detail).toContain('Last-Event-ID');
  });

  it('sends keep-alive comments while idle', async () => {
    const { stream } = await openStream(`?from=now&session=${uuidv7()}`);
    const next = await stream.messages.next();
    expect(next.value).toEqual({ kind: 'comment', text: 'keep-alive' });
    stream.stop();
  });

  it('lets go of its database connection and its timers when the client goes away', async () => {
    const pool = api.agate.pool;
    const s = await newSession();
    await append(s, [inc(1)]);
    const streams = await Promise.all([1, 2, 3].map(() => openStream(`?session=${s}`)));
    for (const { stream } of streams) expect(await take(stream, 1)).toHaveLength(1);
    expect(await openGauge()).toBeGreaterThanOrEqual(3);
    for (const { stream } of streams) stream.stop();
    await until(async () => (await openGauge()) === 0, 'every stream ended');
    await until(() => pool.totalCount === pool.idleCount, 'every pool client back');
    const open = await api.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(open.rows[0]?.n).toBe(0);
  });

  it('ends open streams when the server closes, instead of waiting for the clients', async () => {
    const server = createServer({
      agate: api.agate,
      logger: pino({ level: 'silent' }),
      rateLimit: null,
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const port = (server.server.address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/v1/feed?from=now`, {
      headers: { authorization: `Bearer ${keys.admin.key}`, accept: 'text/event-stream' },
    });
    expect(response.status).toBe(200);
    const messages = sseMessages(response.body as ReadableStream<Uint8Array>);
    await server.close();
    const rest: SseMessage[] = [];
    for await (const message of messages) rest.push(message);
    expect(rest).toEqual([]);
  });
});
