import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../src/api/index.js';
import { createKeyCache, createOperatorKey, lookupKey, revokeKey } from '../../src/keys/index.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture } from '../support/api.js';
import { runCli } from '../support/run-cli.js';

/** Asks until `done` answers true, failing after `deadlineMs`; no fixed sleep stands for an event. */
async function eventually(done: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

let api: ApiFixture;
let tenantId: string;
/** A second server on the same database: another instance with its own key cache. */
let other: FastifyInstance;

const status = async (app: FastifyInstance, key: string) =>
  (
    await app.inject({
      method: 'GET',
      url: '/v1/games',
      headers: { authorization: `Bearer ${key}` },
    })
  ).statusCode;

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant('key cache');
  // A cache far longer than any deadline here: only the notification can drop a key in time.
  other = createServer({
    agate: api.agate,
    logger: pino({ level: 'silent' }),
    rateLimit: null,
    keyCacheMs: 3_600_000,
  });
  await other.ready();
});

afterAll(async () => {
  await other.close();
  await api.close();
});

describe('the API-key cache', () => {
  it('refuses a key revoked by another process once the notification arrives', async () => {
    const key = await api.newKey(tenantId, 'analyst');
    expect(await status(other, key.key)).toBe(200);
    const revoked = await runCli(['keys', 'revoke', key.id], { DATABASE_URL: api.db.url });
    expect(revoked.code, revoked.stderr).toBe(0);
    await eventually(async () => (await status(other, key.key)) === 401);
  });

  it('refuses a key rotated by another process, and the new key works at once', async () => {
    const key = await api.newKey(tenantId, 'analyst');
    expect(await status(other, key.key)).toBe(200);
    const rotated = await runCli(['keys', 'rotate', key.id, '--json'], {
      DATABASE_URL: api.db.url,
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    const replacement = (JSON.parse(rotated.stdout) as { key: string }).key;
    expect(await status(other, replacement)).toBe(200);
    await eventually(async () => (await status(other, key.key)) === 401);
  });

  it('refuses a key revoked in this process on its next request, on every server here', async () => {
    const key = await api.newKey(tenantId, 'analyst');
    expect(await status(other, key.key)).toBe(200);
    expect(await status(api.app, key.key)).toBe(200);
    await revokeKey(api.db.pool, { id: key.id, actor: 'test' });
    expect(await status(other, key.key)).toBe(401);
    expect(await status(api.app, key.key)).toBe(401);
  });

  it('still audits every request with a cached operator key', async () => {
    const operator = await createOperatorKey(api.db.pool, { actor: 'test' });
    const audited = async () =>
      Number(
        (
          await api.db.pool.query<{ n: string }>(
            "SELECT count(*) AS n FROM admin.audit_log WHERE action = 'operator_key.used' AND actor = $1",
            [operator.id],
          )
        ).rows[0]?.n,
      );
    const before = await audited();
    for (let i = 0; i < 3; i += 1) await status(other, operator.key);
    expect((await audited()) - before).toBe(3);
  });

  it('bounds a lost notification by its expiry when no LISTEN connection exists', async () => {
    let clock = 0;
    const cache = createKeyCache({
      pool: api.db.pool,
      ttlMs: 1_000,
      listen: false,
      now: () => clock,
    });
    try {
      const key = await api.newKey(tenantId, 'game_server');
      expect((await lookupKey(api.db.pool, key.key, cache))?.id).toBe(key.id);
      // Revoked where no notification reaches this cache (a transaction-mode pooler).
      await api.db.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [key.id]);
      clock = 999;
      expect((await lookupKey(api.db.pool, key.key, cache))?.id).toBe(key.id);
      clock = 1_000;
      expect(await lookupKey(api.db.pool, key.key, cache)).toBeUndefined();
    } finally {
      await cache.close();
    }
  });

  it('never caches a miss, so a new key works at once', async () => {
    const cache = createKeyCache({ pool: api.db.pool, listen: false });
    try {
      const missing = `agk_${'A'.repeat(43)}`;
      expect(await lookupKey(api.db.pool, missing, cache)).toBeUndefined();
      const key = await api.newKey(tenantId, 'game_server');
      expect((await lookupKey(api.db.pool, key.key, cache))?.id).toBe(key.id);
    } finally {
      await cache.close();
    }
  });
});
