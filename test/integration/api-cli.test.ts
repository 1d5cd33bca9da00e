import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { spawnServe } from '../support/api.js';
import { withAdmin } from '../support/pg-admin.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
const env = () => ({ DATABASE_URL: db.url });

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

type ListedKey = {
  id: string;
  role: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt?: string | null;
};

async function listed(args: string[]): Promise<ListedKey[]> {
  return ((await cliJson(['keys', 'list', ...args, '--json'])) as unknown as { keys: ListedKey[] })
    .keys;
}

async function cliJson(args: string[]): Promise<Record<string, string>> {
  const result = await runCli(args, env());
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, string>;
}

describe('agate tenants, keys and serve', () => {
  it('creates a tenant and a key, serves requests with it, and refuses it once revoked', async () => {
    const tenant = await cliJson(['tenants', 'create', 'Acme Games', '--json']);
    expect(tenant).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      name: 'Acme Games',
      rateLimit: null,
      placement: 'shared',
    });
    const created = await cliJson([
      'keys',
      'create',
      '--tenant',
      tenant.id ?? '',
      '--role',
      'game_server',
      '--label',
      'edge',
      '--json',
    ]);
    expect(Object.keys(created).sort()).toEqual(['id', 'key']);
    const key = created.key ?? '';
    expect(key).toMatch(/^agk_[A-Za-z0-9_-]{43}$/);
    const stored = await db.pool.query<{ hash: string; role: string; tenant_id: string }>(
      "SELECT encode(key_hash, 'hex') AS hash, role, tenant_id FROM public.api_keys WHERE id = $1",
      [created.id],
    );
    expect(stored.rows[0]).toEqual({
      hash: createHash('sha256').update(key).digest('hex'),
      role: 'game_server',
      tenant_id: tenant.id,
    });

    const server = await spawnServe({ ...env(), LOG_LEVEL: 'info' });
    let exitCode: number | null;
    try {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const session = await fetch(`${server.url}/v1/sessions`, {
        method: 'POST',
        headers,
        body: '{}',
      });
      expect(session.status).toBe(201);
      expect(await session.json()).toMatchObject({ rules: 'archive-gate', lastSequence: 0 });
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

      const revoked = await runCli(['keys', 'revoke', created.id ?? ''], env());
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toMatch(/Revoked key/);
      const refused = await fetch(`${server.url}/v1/sessions`, {
        method: 'POST',
        headers,
        body: '{}',
      });
      expect(refused.status).toBe(401);
    } finally {
      exitCode = await server.stop();
    }
    expect(exitCode).toBe(0);
    const logs = server.output();
    expect(logs).toMatch(/"requestId":"[0-9a-f-]{36}"/);
    expect(logs).not.toContain(key);
    expect(logs).not.toContain(key.slice(4));

    const again = await runCli(['keys', 'revoke', created.id ?? ''], env());
    expect([again.code, again.stdout]).toEqual([
      0,
      expect.stringMatching(/Already revoked/) as string,
    ]);
    const audit = await db.pool.query<{ action: string }>(
      "SELECT action FROM admin.audit_log WHERE actor = 'cli' ORDER BY occurred_at, id",
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'tenant.created',
      'api_key.created',
      'api_key.revoked',
    ]);
  });

  it('refuses bad arguments with the usage exit code and unknown ids with a message', async () => {
    const role = await runCli(
      ['keys', 'create', '--tenant', '00000000-0000-0000-0000-000000000000', '--role', 'root'],
      env(),
    );
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(/--role must be one of game_server, analyst, admin/);
    const tenant = await runCli(
      ['keys', 'create', '--tenant', '0190c8f4-0000-7000-8000-000000000000', '--role', 'admin'],
      env(),
    );
    expect(tenant.code).toBe(1);
    expect(tenant.stderr).toMatch(/\[tenant_not_found\]/);
    const missing = await runCli(['keys', 'revoke', '0190c8f4-0000-7000-8000-000000000000'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No API key has the id/);
    const noDb = await runCli(['tenants', 'create', 'x', '--json', '--memory'], {});
    expect(noDb.code).toBe(0);
    expect(JSON.parse(noDb.stdout)).toMatchObject({ name: 'x' });
  });
});

describe('operator keys from the CLI', () => {
  it('creates, lists, rotates and revokes an operator key, as JSON, and audits every step', async () => {
    const app = createServer({
      agate: createAgate({ pool: db.pool, games: tinyGames }),
      logger: pino({ level: 'silent' }),
      rateLimit: null,
    });
    await app.ready();
    const createTenantWith = async (key: string, name: string) => {
      const reply = await app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { authorization: `Bearer ${key}` },
        payload: { name },
      });
      return { status: reply.statusCode, json: reply.json<Record<string, unknown>>() };
    };
    try {
      const created = await cliJson(['keys', 'create', '--operator', '--label', 'ops', '--json']);
      expect(Object.keys(created).sort()).toEqual(['id', 'key']);
      const first = { id: created.id ?? '', key: created.key ?? '' };
      expect(first.key).toMatch(/^ago_[A-Za-z0-9_-]{43}$/);
      const stored = await db.pool.query<{ hash: string }>(
        "SELECT encode(key_hash, 'hex') AS hash FROM public.operator_keys WHERE id = $1",
        [first.id],
      );
      expect(stored.rows).toEqual([{ hash: createHash('sha256').update(first.key).digest('hex') }]);
      const fresh = (await listed(['--operator'])).find((k) => k.id === first.id);
      expect(fresh).toEqual({
        id: first.id,
        role: 'operator',
        label: 'ops',
        createdAt: expect.any(String) as string,
        revokedAt: null,
        rateLimit: null,
        lastUsedAt: null,
      });

      const tenant = await createTenantWith(first.key, 'made over HTTP');
      expect(tenant.status).toBe(201);
      const used = (await listed(['--operator'])).find((k) => k.id === first.id);
      expect(used?.lastUsedAt).toEqual(expect.any(String));
      const tenants = (await cliJson(['tenants', 'list', '--json'])) as unknown as {
        tenants: { id: string; name: string; createdAt: string; rateLimit: unknown }[];
      };
      expect(tenants.tenants).toContainEqual({
        id: tenant.json.id,
        name: 'made over HTTP',
        createdAt: expect.any(String) as string,
        rateLimit: null,
        placement: 'shared',
      });
      const adminKey = tenant.json.adminKey as { id: string; key: string };
      const tenantListing = await runCli(
        ['keys', 'list', '--tenant', String(tenant.json.id), '--json'],
        env(),
      );
      expect(tenantListing.stdout).not.toContain(adminKey.key);
      expect((JSON.parse(tenantListing.stdout) as { keys: ListedKey[] }).keys).toEqual([
        {
          id: adminKey.id,
          role: 'admin',
          label: 'first admin',
          createdAt: expect.any(String) as string,
          revokedAt: null,
          rateLimit: null,
        },
      ]);

      const rotated = await cliJson(['keys', 'rotate', first.id, '--json']);
      expect(rotated).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
        key: expect.stringMatching(/^ago_/) as string,
        replaces: first.id,
        revokedAt: expect.any(String) as string,
      });
      const second = { id: rotated.id ?? '', key: rotated.key ?? '' };
      expect((await createTenantWith(first.key, 'refused')).status).toBe(401);
      expect((await createTenantWith(second.key, 'by the replacement')).status).toBe(201);
      const again = await runCli(['keys', 'rotate', first.id], env());
      expect([again.code, again.stderr]).toEqual([
        1,
        expect.stringMatching(/was revoked at .*create a new key instead/) as string,
      ]);

      const revoked = await cliJson(['keys', 'revoke', second.id, '--json']);
      expect(revoked).toEqual({ id: second.id, revokedAt: expect.any(String) as string });
      expect((await createTenantWith(second.key, 'refused')).status).toBe(401);
      const operators = (await listed(['--operator'])).filter((k) =>
        [first.id, second.id].includes(k.id),
      );
      expect(operators.map((k) => [k.id, k.label, k.revokedAt !== null])).toEqual([
        [first.id, 'ops', true],
        [second.id, 'ops', true],
      ]);

      const tenantKey = await cliJson(['keys', 'rotate', adminKey.id, '--json']);
      expect(tenantKey.key).toMatch(/^agk_/);
      const afterRotation = await listed(['--tenant', String(tenant.json.id)]);
      expect(afterRotation.map((k) => [k.id, k.role, k.revokedAt !== null])).toEqual([
        [adminKey.id, 'admin', true],
        [tenantKey.id, 'admin', false],
      ]);

      const audit = await db.pool.query<{
        action: string;
        subject: string;
        tenant: string | null;
        details: Record<string, unknown>;
      }>(
        `SELECT action, subject, tenant_id AS tenant, details FROM admin.audit_log
          WHERE actor = 'cli' AND action LIKE 'operator_key.%' AND subject = ANY($1)
          ORDER BY occurred_at, id`,
        [[first.id, second.id]],
      );
      expect(audit.rows).toEqual([
        {
          action: 'operator_key.created',
          subject: first.id,
          tenant: null,
          details: { label: 'ops' },
        },
        {
          action: 'operator_key.created',
          subject: second.id,
          tenant: null,
          details: { label: 'ops' },
        },
        {
          action: 'operator_key.rotated',
          subject: first.id,
          tenant: null,
          details: { replacedBy: second.id },
        },
        { action: 'operator_key.revoked', subject: second.id, tenant: null, details: {} },
      ]);
    } finally {
      await app.close();
    }
  });

  it('refuses keys create --operator as a login that neither owns the database nor is a superuser', async () => {
    const login = `agate_t_login_${randomBytes(5).toString('hex')}`;
    await withAdmin(async (admin) => {
      await admin.query(`CREATE ROLE ${login} LOGIN`);
      await admin.query(`GRANT agate_app, agate_analyst, agate_maintenance TO ${login}`);
    });
    try {
      const url = new URL(db.url);
      url.username = login;
      const count = async () =>
        Number(
          (await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM public.operator_keys'))
            .rows[0]?.n,
        );
      const before = await count();
      const refused = await runCli(['keys', 'create', '--operator', '--json'], {
        DATABASE_URL: url.toString(),
      });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        new RegExp(
          `Only the owner of database ${db.name} or a superuser may create operator keys, and login ${login} is neither; run agate keys create --operator with a DATABASE_URL that names the database owner\\. \\[forbidden\\]`,
        ),
      );
      // The same login writing the table directly, as agate_maintenance, is refused too.
      const direct = new pg.Client({ connectionString: url.toString() });
      await direct.connect();
      try {
        await direct.query('SET ROLE agate_maintenance');
        await expect(
          direct.query(
            "INSERT INTO public.operator_keys (id, key_hash) VALUES ('0190c8f4-0000-7000-8000-000000000000', '\\x00')",
          ),
        ).rejects.toMatchObject({ code: '42501' });
      } finally {
        await direct.end();
      }
      expect(await count()).toBe(before);
      // Rotation inserts a new operator key: refused too, and the old key stays live.
      const live = await cliJson(['keys', 'create', '--operator', '--json']);
      const rotation = await runCli(['keys', 'rotate', live.id ?? '', '--json'], {
        DATABASE_URL: url.toString(),
      });
      expect([rotation.code, rotation.stdout]).toEqual([1, '']);
      expect(rotation.stderr).toMatch(
        new RegExp(`login ${login} may not create operator keys.*\\[forbidden\\]`),
      );
      const after = await db.pool.query<{ id: string; revoked: boolean }>(
        'SELECT id, revoked_at IS NOT NULL AS revoked FROM public.operator_keys WHERE id = $1',
        [live.id],
      );
      expect(after.rows).toEqual([{ id: live.id, revoked: false }]);
      expect(await count()).toBe(before + 1);
    } finally {
      await withAdmin((admin) => admin.query(`DROP ROLE ${login}`));
    }
  });

  it('refuses keys create and keys list without a tenant or --operator, or with both, as usage errors', async () => {
    const tenant = '0190c8f4-0000-7000-8000-000000000000';
    const neither = /give --tenant <id> and --role <role> for a tenant key, or --operator/;
    const conflict = /option '--operator' cannot be used with option '--(tenant|role) </;
    const listOne = /give exactly one of --tenant <id> or --operator/;
    for (const [args, message] of [
      [['keys', 'create', '--json'], neither],
      [['keys', 'create', '--tenant', tenant], neither],
      [['keys', 'create', '--operator', '--tenant', tenant], conflict],
      [['keys', 'create', '--operator', '--role', 'admin'], conflict],
      [['keys', 'list'], listOne],
      [['keys', 'list', '--operator', '--tenant', tenant], /option '--operator' cannot be used/],
    ] as const) {
      const result = await runCli([...args], env());
      expect([args, result.code, result.stdout]).toEqual([args, 2, '']);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });
});
