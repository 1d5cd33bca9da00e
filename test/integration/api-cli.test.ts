import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServe } from '../support/api.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
const env = () => ({ DATABASE_URL: db.url });

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

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
