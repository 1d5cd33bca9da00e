import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import type { AgateError } from '../../src/errors/index.js';
import { createKey, rotateKey, setKeyRateLimit } from '../../src/keys/index.js';
import { createTenant, setTenantRateLimit } from '../../src/tenants/index.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture } from '../support/api.js';
import { runCli } from '../support/run-cli.js';

// Limits per key and per tenant (migration 0016) on servers whose clock the test holds still:
// no token is ever refilled, so a bucket's size is exactly its burst.

let api: ApiFixture;
/** Server limit 5/s, burst 5; keys cached for an hour, so only a notification can refresh one. */
let server: FastifyInstance;

beforeAll(async () => {
  api = await createApiFixture();
  server = createServer({
    agate: api.agate,
    logger: pino({ level: 'silent' }),
    rateLimit: { perSecond: 5, burst: 5, now: () => 0 },
    keyCacheMs: 3_600_000,
  });
  await server.ready();
});

afterAll(async () => {
  await server.close();
  await api.close();
});

type Problem = { code: string; detail: string; rateLimit?: { source: string } };

const get = (key: string) =>
  server.inject({ method: 'GET', url: '/v1/games', headers: { authorization: `Bearer ${key}` } });

/** Requests until the first refusal: how many were granted, and the refusal's problem. */
async function spend(key: string, most = 50): Promise<{ granted: number; problem: Problem }> {
  for (let granted = 0; granted <= most; granted += 1) {
    const reply = await get(key);
    if (reply.statusCode === 429) return { granted, problem: reply.json<Problem>() };
    expect(reply.statusCode).toBe(200);
  }
  throw new Error(`no 429 within ${most} requests`);
}

/** Asks until `done` answers true, failing after `deadlineMs`; no fixed sleep stands for an event. */
async function eventually(done: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

async function limitRows(): Promise<Record<string, unknown>[]> {
  const result = await api.db.pool.query<Record<string, unknown>>(
    `SELECT 'key' AS kind, id, rate_limit_per_second, rate_limit_burst FROM api_keys
     UNION ALL SELECT 'tenant', id, rate_limit_per_second, rate_limit_burst FROM tenants
     UNION ALL SELECT 'audit', NULL, count(*)::int, NULL FROM admin.audit_log
     ORDER BY 1, 2`,
  );
  return result.rows;
}

describe('rate limits per key and per tenant', () => {
  it('takes the key’s own limit over its tenant’s, and the tenant’s over the server’s', async () => {
    const tenantId = (
      await createTenant(api.db.pool, {
        name: 't',
        rateLimit: { perSecond: 3, burst: 3 },
        actor: 'test',
      })
    ).id;
    const own = await createKey(api.db.pool, {
      tenantId,
      role: 'analyst',
      rateLimit: { perSecond: 2, burst: 2 },
      actor: 'test',
    });
    const inherits = await api.newKey(tenantId, 'analyst');
    const plain = await api.newKey(await api.newTenant('no limit'), 'analyst');

    const byKey = await spend(own.key);
    expect(byKey.granted).toBe(2);
    expect(byKey.problem.code).toBe('rate_limited');
    expect(byKey.problem.rateLimit).toEqual({ perSecond: 2, burst: 2, source: 'key' });
    expect(byKey.problem.detail).toMatch(/2 requests per second, bursts of 2, set on this key/);

    const byTenant = await spend(inherits.key);
    expect(byTenant.granted).toBe(3);
    expect(byTenant.problem.rateLimit).toEqual({ perSecond: 3, burst: 3, source: 'tenant' });
    expect(byTenant.problem.detail).toMatch(/set on its tenant \(agate tenants limit\)/);

    const byServer = await spend(plain.key);
    expect(byServer.granted).toBe(5);
    expect(byServer.problem.rateLimit).toEqual({ perSecond: 5, burst: 5, source: 'server' });
    expect(byServer.problem.detail).toMatch(/the server’s setting \(AGATE_RATE_LIMIT/);
  });

  it('limits a key or tenant that sets a limit even where the server sets none', async () => {
    const open = createServer({
      agate: api.agate,
      logger: pino({ level: 'silent' }),
      rateLimit: null,
      keyCacheMs: 0,
    });
    try {
      const tenantId = await api.newTenant('open server');
      await setTenantRateLimit(api.db.pool, {
        tenantId,
        rateLimit: { perSecond: 1, burst: 1 },
        actor: 'test',
      });
      const key = await api.newKey(tenantId, 'analyst');
      const call = () =>
        open.inject({
          method: 'GET',
          url: '/v1/games',
          headers: { authorization: `Bearer ${key.key}` },
        });
      // The real clock refills 1 token a second: five requests in a row cannot all get one.
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await call()).statusCode);
      expect(statuses).toContain(429);
      const unlimited = await api.newKey(await api.newTenant('none'), 'analyst');
      for (let i = 0; i < 20; i += 1) {
        const reply = await open.inject({
          method: 'GET',
          url: '/v1/games',
          headers: { authorization: `Bearer ${unlimited.key}` },
        });
        expect(reply.statusCode).toBe(200);
      }
    } finally {
      await open.close();
    }
  });

  it('applies a tenant limit set by another process through the notification, not the expiry', async () => {
    const tenantId = await api.newTenant('changed later');
    const key = await api.newKey(tenantId, 'analyst');
    expect((await get(key.key)).statusCode).toBe(200); // cached with the server's limit
    const set = await runCli(
      ['tenants', 'limit', tenantId, '--rate-limit', '1', '--rate-burst', '1', '--json'],
      { DATABASE_URL: api.db.url },
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({
      tenantId,
      rateLimit: { perSecond: 1, burst: 1 },
      previous: null,
    });
    await eventually(async () => {
      const reply = await get(key.key);
      if (reply.statusCode !== 429) return false;
      expect(reply.json<Problem>().rateLimit?.source).toBe('tenant');
      return true;
    });
    const audited = await api.db.pool.query(
      "SELECT actor, details FROM admin.audit_log WHERE action = 'tenant.limit_set' AND subject = $1",
      [tenantId],
    );
    expect(audited.rows).toEqual([
      { actor: 'cli', details: { rateLimit: { perSecond: 1, burst: 1 }, previous: null } },
    ]);
  });

  it('applies a tenant limit set in this process on the key’s next request', async () => {
    const tenantId = await api.newTenant('changed here');
    const key = await api.newKey(tenantId, 'analyst');
    expect((await get(key.key)).statusCode).toBe(200); // cached with the server's limit, 4 left
    await setTenantRateLimit(api.db.pool, {
      tenantId,
      rateLimit: { perSecond: 1, burst: 2 },
      actor: 'test',
    });
    // The bucket keeps its tokens up to the new burst: two more, then the tenant's 429.
    const spent = await spend(key.key);
    expect(spent.granted).toBe(2);
    expect(spent.problem.rateLimit).toEqual({ perSecond: 1, burst: 2, source: 'tenant' });
  });

  it('applies a key limit set by another process at once, and --inherit clears it', async () => {
    const tenantId = await api.newTenant('key changed later');
    const key = await api.newKey(tenantId, 'analyst');
    expect((await get(key.key)).statusCode).toBe(200);
    const set = await runCli(['keys', 'limit', key.id, '--rate-limit', '1', '--rate-burst', '1'], {
      DATABASE_URL: api.db.url,
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/limit 1\/s burst 1/);
    await eventually(async () => (await get(key.key)).statusCode === 429);

    const cleared = await runCli(['keys', 'limit', key.id, '--inherit', '--json'], {
      DATABASE_URL: api.db.url,
    });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({
      id: key.id,
      rateLimit: null,
      previous: { perSecond: 1, burst: 1 },
    });
    const listed = await runCli(['keys', 'list', '--tenant', tenantId, '--json'], {
      DATABASE_URL: api.db.url,
    });
    expect(JSON.parse(listed.stdout)).toMatchObject({ keys: [{ id: key.id, rateLimit: null }] });
  });

  it('shows limits in key and tenant listings, and a rotated key keeps its own', async () => {
    const created = await runCli(['tenants', 'create', 'listed', '--rate-limit', '40', '--json'], {
      DATABASE_URL: api.db.url,
    });
    expect(created.code, created.stderr).toBe(0);
    const tenant = JSON.parse(created.stdout) as { id: string; rateLimit: unknown };
    // The burst defaults to two seconds' worth, as AGATE_RATE_BURST does.
    expect(tenant.rateLimit).toEqual({ perSecond: 40, burst: 80 });
    const key = await runCli(
      [
        'keys',
        'create',
        '--tenant',
        tenant.id,
        '--role',
        'game_server',
        '--rate-limit',
        '7',
        '--rate-burst',
        '9',
        '--json',
      ],
      { DATABASE_URL: api.db.url },
    );
    expect(key.code, key.stderr).toBe(0);
    const { id } = JSON.parse(key.stdout) as { id: string };
    const rotated = await rotateKey(api.db.pool, { id, actor: 'test' });
    const text = await runCli(['keys', 'list', '--tenant', tenant.id], {
      DATABASE_URL: api.db.url,
    });
    expect(text.stdout).toContain(`${id}  game_server`);
    expect(text.stdout.match(/limit 7\/s burst 9/g)).toHaveLength(2);
    expect(text.stdout).toContain(`${rotated?.id}  game_server`);
    const tenants = await runCli(['tenants', 'list', '--json'], { DATABASE_URL: api.db.url });
    const all = (JSON.parse(tenants.stdout) as { tenants: { id: string; rateLimit: unknown }[] })
      .tenants;
    expect(all.find((t) => t.id === tenant.id)?.rateLimit).toEqual({ perSecond: 40, burst: 80 });
    const tenantsText = await runCli(['tenants', 'list'], { DATABASE_URL: api.db.url });
    expect(tenantsText.stdout).toMatch(/limit 40\/s burst 80 {2}listed/);
  });

  it('refuses bad limits with a clear message and a stable code, changing nothing', async () => {
    const tenantId = await api.newTenant('bad values');
    const key = await api.newKey(tenantId, 'game_server');
    const operator = await api.newOperatorKey();
    const env = { DATABASE_URL: api.db.url };
    const before = await limitRows();

    const usage: [string[], RegExp][] = [
      [
        ['keys', 'limit', key.id, '--rate-limit', '0'],
        /--rate-limit must be a whole number from 1 to 2147483647, got "0"/,
      ],
      [['keys', 'limit', key.id, '--rate-limit', '1.5'], /--rate-limit must be a whole number/],
      [['keys', 'limit', key.id, '--rate-burst', '5'], /--rate-burst needs --rate-limit/],
      [
        ['keys', 'limit', key.id],
        /give --rate-limit <per second> \(and --rate-burst <n>\), or --inherit/,
      ],
      [
        ['keys', 'limit', key.id, '--inherit', '--rate-limit', '5'],
        /either --inherit or --rate-limit/,
      ],
      [
        ['tenants', 'limit', tenantId, '--rate-limit', '2147483648'],
        /--rate-limit must be a whole number from 1/,
      ],
      [
        ['tenants', 'limit', tenantId, '--rate-limit', '5', '--rate-burst', '-1'],
        /--rate-burst must be a whole number/,
      ],
      [['tenants', 'limit', 'not-a-uuid', '--inherit'], /must be a tenant id/],
      [
        ['keys', 'create', '--operator', '--rate-limit', '5'],
        /cannot be used with option '--operator'/,
      ],
    ];
    for (const [args, message] of usage) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const failures: [string[], RegExp][] = [
      [
        ['keys', 'limit', operator.id, '--rate-limit', '5'],
        /operator key: it has no rate limit of its own.*\[invalid_request\]/,
      ],
      [
        ['keys', 'limit', '0190d3b4-0000-7000-8000-000000000000', '--inherit'],
        /No API key has the id.*\[invalid_request\]/,
      ],
      [
        ['tenants', 'limit', '0190d3b4-0000-7000-8000-000000000000', '--inherit'],
        /does not exist.*\[tenant_not_found\]/,
      ],
    ];
    for (const [args, message] of failures) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
    }
    const refusals = [
      setKeyRateLimit(api.db.pool, {
        id: key.id,
        rateLimit: { perSecond: 1.5, burst: 3 },
        actor: 'test',
      }),
      setTenantRateLimit(api.db.pool, {
        tenantId,
        rateLimit: { perSecond: 5, burst: 0 },
        actor: 'test',
      }),
      createKey(api.db.pool, {
        tenantId,
        role: 'analyst',
        rateLimit: { perSecond: -1, burst: 1 },
        actor: 'test',
      }),
    ].map((attempt) =>
      attempt.then(
        () => undefined,
        (error: unknown) => error as AgateError,
      ),
    );
    const [byKey, byTenant, byCreate] = await Promise.all(refusals);
    expect(byKey?.code).toBe('invalid_request');
    expect(byKey?.message).toMatch(
      /rate limit of key .* whole number from 1 to 2147483647, not 1.5/,
    );
    expect(byTenant?.code).toBe('invalid_request');
    expect(byTenant?.message).toMatch(/rate burst of tenant .*, not 0; nothing was changed/);
    expect(byCreate?.code).toBe('invalid_request');
    // The database holds the same rule: a positive pair or none.
    await expect(
      api.db.pool.query('UPDATE api_keys SET rate_limit_per_second = 5 WHERE id = $1', [key.id]),
    ).rejects.toMatchObject({ constraint: 'api_keys_rate_limit_check' });
    await expect(
      api.db.pool.query(
        'UPDATE tenants SET rate_limit_per_second = 0, rate_limit_burst = 1 WHERE id = $1',
        [tenantId],
      ),
    ).rejects.toMatchObject({ constraint: 'tenants_rate_limit_check' });
    expect(await limitRows()).toEqual(before);
  });

  it('takes limits over HTTP: an operator sets a tenant’s, an admin may only lower a key’s', async () => {
    const operator = await api.newOperatorKey();
    const tenant = await api.call('POST', '/v1/tenants', {
      key: operator.key,
      body: { name: 'over http', rateLimit: { perSecond: 50, burst: 100 } },
    });
    expect(tenant.status).toBe(201);
    expect(tenant.json.rateLimit).toEqual({ perSecond: 50, burst: 100 });
    const admin = tenant.json.adminKey as { key: string; rateLimit: unknown };
    expect(admin.rateLimit).toBeNull();

    const lower = await api.call('POST', '/v1/api-keys', {
      key: admin.key,
      body: { role: 'game_server', rateLimit: { perSecond: 10, burst: 100 } },
    });
    expect(lower.status).toBe(201);
    expect(lower.json.rateLimit).toEqual({ perSecond: 10, burst: 100 });

    const before = await limitRows();
    const higher = await api.call('POST', '/v1/api-keys', {
      key: admin.key,
      body: { role: 'game_server', rateLimit: { perSecond: 51, burst: 10 } },
    });
    expect(higher.status).toBe(403);
    expect(higher.json.code).toBe('forbidden');
    expect(higher.json.detail).toMatch(
      /at or below the one it would inherit \(50 per second, bursts of 100\)/,
    );
    for (const rateLimit of [
      { perSecond: 0, burst: 1 },
      { perSecond: 5 },
      { perSecond: 5, burst: 2.5 },
    ]) {
      const bad = await api.call('POST', '/v1/api-keys', {
        key: admin.key,
        body: { role: 'analyst', rateLimit },
      });
      expect(bad.status).toBe(400);
      expect(bad.json.code).toBe('invalid_request');
    }
    expect(await limitRows()).toEqual(before);

    // Without a tenant limit, the server's is the ceiling.
    const plainAdmin = await api.newKey(await api.newTenant('server ceiling'), 'admin');
    const aboveServer = await server.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${plainAdmin.key}` },
      payload: { role: 'analyst', rateLimit: { perSecond: 6, burst: 5 } },
    });
    expect(aboveServer.statusCode).toBe(403);
    expect(aboveServer.json<Problem>().detail).toMatch(/\(5 per second, bursts of 5\)/);
  });
});
