import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgateClient } from '../../src/client/index.js';
import type { FeedEvent } from '../../src/client/index.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture } from '../support/api.js';
import { startCuttingProxy } from '../support/cutting-proxy.js';
import type { CuttingProxy } from '../support/cutting-proxy.js';

// Issue 16, "the feed over HTTP through a faulty proxy": the client's iterator reads the feed
// through a proxy that cuts connections mid-response while writers append, and must receive
// every event once, in each session's order.

const sessionsCount = 4;
const eventsPerSession = 500;
const total = sessionsCount * eventsPerSession;

let api: ApiFixture;
let proxy: CuttingProxy;

beforeAll(async () => {
  api = await createApiFixture();
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = api.app.server.address() as AddressInfo;
  proxy = await startCuttingProxy({
    target: { host: '127.0.0.1', port },
    seed: 16,
    minBytes: 300,
    maxBytes: 40_000,
  });
});
afterAll(async () => {
  await proxy.close();
  await api.close();
});

/** Appends one session's events in batches of 1 to 9, as a game server would. */
async function writer(tenantId: string, sessionId: string, ids: string[]): Promise<void> {
  for (let done = 0, batch = 1; done < eventsPerSession; batch = (batch % 9) + 1) {
    const size = Math.min(batch, eventsPerSession - done);
    const result = await api.agate.store.appendEvents({
      tenantId,
      sessionId,
      events: Array.from({ length: size }, (_, i) => inc(done + i)),
    });
    if (!result.ok) throw new Error(`append refused: ${result.reason}`);
    ids.push(...result.events.map((e) => e.eventId));
    done += size;
  }
}

it('delivers every event once, in each session’s order, through connections cut mid-stream', async () => {
  const tenantId = await api.newTenant('feed through a faulty proxy');
  const key = await api.newKey(tenantId, 'analyst');
  const sessions = await Promise.all(
    Array.from({ length: sessionsCount }, async (_, i) => {
      const session = await api.agate.store.createSession({
        tenantId,
        rules: 'tiny',
        seed: `proxy-${i}`,
      });
      return session.id;
    }),
  );
  const appended: string[] = [];
  const writing = Promise.all(sessions.map((id) => writer(tenantId, id, appended)));
  const client = new AgateClient({ baseUrl: proxy.url, apiKey: key.key, retries: 1, backoffMs: 5 });
  const deadline = AbortSignal.timeout(50_000);
  const received: FeedEvent[] = [];
  for await (const event of client.feed({
    pageSize: 40,
    idleMs: 20,
    maxBackoffMs: 50,
    signal: deadline,
  })) {
    received.push(event);
    if (received.length === total) break;
  }
  await writing;
  expect(received.length, 'events received before the deadline').toBe(total);
  // The hazard happened: responses were cut, many times, and the client came back each time.
  expect(proxy.cuts()).toBeGreaterThan(20);
  expect(new Set(received.map((e) => e.eventId)).size).toBe(total);
  expect(new Set(received.map((e) => e.position)).size).toBe(total);
  expect(new Set(received.map((e) => e.eventId))).toEqual(new Set(appended));
  for (const sessionId of sessions) {
    const sequences = received.filter((e) => e.sessionId === sessionId).map((e) => e.sequence);
    expect(sequences).toEqual(Array.from({ length: eventsPerSession }, (_, i) => i + 1));
  }
  // Nothing more comes after the last one (nothing duplicated at the end either).
  const after = received.at(-1)?.position;
  const rest: FeedEvent[] = [];
  for await (const event of client.feed({ after, follow: false })) rest.push(event);
  expect(rest).toEqual([]);
});
