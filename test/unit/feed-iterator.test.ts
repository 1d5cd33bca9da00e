import { describe, expect, it } from 'vitest';
import { AgateClient, isAgateClientError } from '../../src/client/index.js';
import type { AgateClientError, FeedEvent, FeedPage } from '../../src/client/index.js';

const start = '0:00000000-0000-0000-0000-000000000000:0';
const a = '0190d7a0-0000-7000-8000-00000000000a';
const b = '0190d7a0-0000-7000-8000-00000000000b';

function event(sessionId: string, sequence: number, previousSequence = sequence - 1): FeedEvent {
  return {
    position: `${100 + sequence}:${sessionId}:${sequence}`,
    sessionId,
    sequence,
    previousSequence,
    eventId: `${sessionId.slice(0, 30)}${String(sequence).padStart(6, '0')}`,
    type: 'counter.incremented',
    version: 1,
    data: {},
    clientTime: null,
    serverTime: '2026-12-01T00:00:00.000Z',
    hash: '0'.repeat(64),
  };
}

type Step = FeedPage | 'network' | 'bad request';

/** A client whose fetch answers from a script of pages and failures, recording each URL. */
function scripted(steps: Step[]): { client: AgateClient; urls: string[] } {
  const urls: string[] = [];
  const fetchStub = (input: string) => {
    urls.push(input);
    const step = steps.shift() ?? { events: [], next: start, held: false };
    if (step === 'network') return Promise.reject(new TypeError('fetch failed'));
    if (step === 'bad request') {
      const problem = {
        type: 'x',
        title: 'Bad Request',
        status: 400,
        detail: 'no',
        code: 'invalid_request',
      };
      return Promise.resolve(new Response(JSON.stringify(problem), { status: 400 }));
    }
    return Promise.resolve(new Response(JSON.stringify(step), { status: 200 }));
  };
  const client = new AgateClient({
    baseUrl: 'http://agate.test',
    apiKey: 'k',
    retries: 0,
    backoffMs: 0,
    fetch: fetchStub as unknown as typeof fetch,
  });
  return { client, urls };
}

const page = (events: FeedEvent[], held = false): FeedPage => ({
  events,
  next: events.at(-1)?.position ?? start,
  held,
});

async function collect(iterable: AsyncIterable<FeedEvent>): Promise<FeedEvent[]> {
  const seen: FeedEvent[] = [];
  for await (const e of iterable) seen.push(e);
  return seen;
}

describe('client.feed', () => {
  it('resumes after the last event it yielded when a request fails, yielding each event once', async () => {
    const { client, urls } = scripted([
      page([event(a, 1), event(a, 2)]),
      'network',
      'network',
      page([event(a, 3), event(b, 1)]),
      page([]),
    ]);
    const seen = await collect(client.feed({ follow: false, maxBackoffMs: 1 }));
    expect(seen.map((e) => [e.sessionId, e.sequence])).toEqual([
      [a, 1],
      [a, 2],
      [a, 3],
      [b, 1],
    ]);
    const afters = urls.map((u) => new URL(u).searchParams.get('after'));
    expect(afters).toEqual([null, `102:${a}:2`, `102:${a}:2`, `102:${a}:2`, `101:${b}:1`]);
    expect(new URL(urls[0] ?? '').searchParams.get('from')).toBe('start');
  });

  it('throws feed_gap when a session’s event does not follow the last one yielded', async () => {
    const { client } = scripted([page([event(a, 1), event(a, 2), event(a, 4, 3)])]);
    const seen: FeedEvent[] = [];
    const error = await collect(
      (async function* () {
        for await (const e of client.feed({ follow: false })) {
          seen.push(e);
          yield e;
        }
      })(),
    ).catch((e: unknown) => e);
    expect(isAgateClientError(error, 'feed_gap')).toBe(true);
    expect((error as AgateClientError).extra).toMatchObject({
      sessionId: a,
      sequence: 4,
      lastSequence: 2,
    });
    expect(seen.map((e) => e.sequence)).toEqual([1, 2]);
  });

  it('from the start, throws feed_gap when a session’s first event has one before it', async () => {
    const { client } = scripted([page([event(b, 5, 4)])]);
    await expect(collect(client.feed({ follow: false }))).rejects.toMatchObject({
      code: 'feed_gap',
    });
  });

  it('after a position, accepts a session it has not seen at whatever sequence it is', async () => {
    const { client } = scripted([page([event(b, 5, 4), event(b, 6)])]);
    const seen = await collect(client.feed({ after: `1:${a}:1`, follow: false }));
    expect(seen.map((e) => e.sequence)).toEqual([5, 6]);
  });

  it('throws a refusal instead of retrying it', async () => {
    const { client, urls } = scripted(['bad request', page([event(a, 1)])]);
    await expect(collect(client.feed({ follow: false }))).rejects.toMatchObject({
      code: 'invalid_request',
      status: 400,
    });
    expect(urls).toHaveLength(1);
  });

  it('waits behind held events even without follow, and ends once nothing is held', async () => {
    const { client, urls } = scripted([page([], true), page([event(a, 1)]), page([])]);
    const seen = await collect(client.feed({ follow: false }));
    expect(seen.map((e) => e.sequence)).toEqual([1]);
    expect(urls).toHaveLength(3);
  });

  it('ends quietly when its signal is aborted while it waits', async () => {
    const { client } = scripted([page([event(a, 1)])]);
    const controller = new AbortController();
    const seen: FeedEvent[] = [];
    for await (const e of client.feed({ signal: controller.signal, idleMs: 60_000 })) {
      seen.push(e);
      setImmediate(() => controller.abort());
    }
    expect(seen.map((e) => e.sequence)).toEqual([1]);
  });

  it('sends its filters with every request', async () => {
    const { client, urls } = scripted([page([event(a, 1)]), page([])]);
    await collect(client.feed({ follow: false, types: ['x.y', 'z'], session: a, pageSize: 7 }));
    for (const url of urls) {
      const params = new URL(url).searchParams;
      expect([params.get('types'), params.get('session'), params.get('limit')]).toEqual([
        'x.y,z',
        a,
        '7',
      ]);
    }
  });
});
