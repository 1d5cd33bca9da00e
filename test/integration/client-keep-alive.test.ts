import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { AgateClient } from '../../src/client/index.js';
import { createKey } from '../../src/keys/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let app: FastifyInstance;
let client: AgateClient;
let connections = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  const agate = createAgate({ pool: db.pool, games: tinyGames });
  app = createServer({ agate, logger: pino({ level: 'silent' }), rateLimit: null });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  app.server.on('connection', () => {
    connections += 1;
  });
  const tenantId = (await createTenant(db.pool, { name: 'keep-alive', actor: 'test' })).id;
  const { key } = await createKey(db.pool, { tenantId, role: 'game_server', actor: 'test' });
  client = new AgateClient({ baseUrl, apiKey: key });
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

describe('the typed client over keep-alive', () => {
  it('sends many requests, in sequence and 8 at a time, over far fewer connections than requests', async () => {
    const session = await client.createSession({ rules: 'tiny' });
    const afterCreate = connections;
    for (let i = 0; i < 50; i += 1) await client.games();
    // The client's keep-alive agent: 51 requests reuse one or two connections, never 51.
    expect(afterCreate).toBe(1);
    expect(connections).toBeLessThanOrEqual(2);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 10; i += 1) await client.getSession(session.id);
      }),
    );
    // Reused under concurrency too: 131 requests over far fewer connections (8 measured over node:http, 13 over fetch).
    expect(connections).toBeLessThanOrEqual(32);
  });
});
