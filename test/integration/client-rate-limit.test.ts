import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { AgateClient, isAgateClientError } from '../../src/client/index.js';
import { createKey } from '../../src/keys/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { databaseFingerprint } from '../support/api.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

// The server's limiter runs on a clock the test moves: when the client is refused, the fetch
// below moves that clock by the Retry-After it was given, as if the client's wait had passed
// there too. So the retry is granted because of the wait, never because of timing luck.

let db: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let tenantId: string;
let clock = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  const agate = createAgate({ pool: db.pool, games: tinyGames });
  // One request per second, bursts of 2.
  app = createServer({
    agate,
    logger: pino({ level: 'silent' }),
    rateLimit: { perSecond: 1, burst: 2, now: () => clock },
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  tenantId = (await createTenant(db.pool, { name: 'client limited', actor: 'test' })).id;
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

type Seen = { status: number; retryAfter: string | null; at: number };

/** The real fetch; each answer is recorded, and a 429 moves the server's clock by Retry-After. */
function throttledFetch(): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const retryAfter = response.headers.get('retry-after');
    seen.push({ status: response.status, retryAfter, at: performance.now() });
    if (response.status === 429) clock += Number(retryAfter) * 1000;
    return response;
  };
  return { fetch: wrapped, seen };
}

async function newClient(retries = 3): Promise<{ client: AgateClient; seen: Seen[] }> {
  const { key } = await createKey(db.pool, { tenantId, role: 'game_server', actor: 'test' });
  const { fetch, seen } = throttledFetch();
  return { client: new AgateClient({ baseUrl, apiKey: key, backoffMs: 1, retries, fetch }), seen };
}

describe('AgateClient on 429 rate_limited', () => {
  it('waits the Retry-After and sends the request again, outside the retry budget', async () => {
    clock += 60_000;
    // No retries for failures: a 429 is not one (nothing was done), so it is still waited out.
    const { client, seen } = await newClient(0);
    const { id } = await client.createSession({});
    await client.getSession(id);
    const info = await client.getSession(id);
    expect(info.id).toBe(id);
    expect(seen.map((s) => s.status)).toEqual([201, 200, 429, 200]);
    expect(seen[2]?.retryAfter).toBe('1');
    expect(seen[3]!.at - seen[2]!.at).toBeGreaterThanOrEqual(990);
  });

  it('retries even createSession on 429, and creates exactly one session', async () => {
    clock += 60_000;
    const { client, seen } = await newClient();
    const { id } = await client.createSession({});
    await client.getSession(id);
    const before = await databaseFingerprint(db);
    const second = await client.createSession({});
    expect(seen.map((s) => s.status)).toEqual([201, 200, 429, 201]);
    const after = await databaseFingerprint(db);
    expect(Number(after.sessions)).toBe(Number(before.sessions) + 1);
    expect(second.id).not.toBe(id);
  });

  it('throws rate_limited at once when Retry-After is beyond its 30 s budget', async () => {
    // A slow limit on a separate server: the wait would be a minute.
    const slow = createServer({
      agate: createAgate({ pool: db.pool, games: tinyGames }),
      logger: pino({ level: 'silent' }),
      rateLimit: { perSecond: 1 / 60, burst: 1, now: () => 0 },
    });
    const url = await slow.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { key } = await createKey(db.pool, { tenantId, role: 'game_server', actor: 'test' });
      const seen: number[] = [];
      const client = new AgateClient({
        baseUrl: url,
        apiKey: key,
        backoffMs: 1,
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          seen.push(response.status);
          return response;
        },
      });
      const { id } = await client.createSession({});
      const error = await client.getSession(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAgateClientError(error, 'rate_limited')).toBe(true);
      expect(error).toMatchObject({ status: 429, extra: { retryAfter: 60 } });
      expect(seen).toEqual([201, 429]);
    } finally {
      await slow.close();
    }
  });
});
