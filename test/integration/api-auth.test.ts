import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import type { ApiKeyRole } from '../../src/keys/index.js';
import { revokeKey, rotateKey } from '../../src/keys/index.js';
import { createApiFixture, databaseFingerprint, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';

type Route = {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** The path for a session or key of tenant A. */
  path: (ids: { session: string; key: string }) => string;
  body?: unknown;
  roles: readonly ApiKeyRole[];
  /** A resource of tenant A that another tenant's key must not see (404). */
  foreign: boolean;
};

const allRoles: readonly ApiKeyRole[] = ['game_server', 'analyst', 'admin'];

const routes: Route[] = [
  {
    name: 'create session',
    method: 'POST',
    path: () => '/v1/sessions',
    body: { rules: 'tiny' },
    roles: ['game_server'],
    foreign: false,
  },
  {
    name: 'get session',
    method: 'GET',
    path: (i) => `/v1/sessions/${i.session}`,
    roles: allRoles,
    foreign: true,
  },
  {
    name: 'append',
    method: 'POST',
    path: (i) => `/v1/sessions/${i.session}/events`,
    body: { events: [inc(1)] },
    roles: ['game_server'],
    foreign: true,
  },
  {
    name: 'read events',
    method: 'GET',
    path: (i) => `/v1/sessions/${i.session}/events`,
    roles: allRoles,
    foreign: true,
  },
  {
    name: 'state',
    method: 'GET',
    path: (i) => `/v1/sessions/${i.session}/state`,
    roles: allRoles,
    foreign: true,
  },
  {
    name: 'end',
    method: 'POST',
    path: (i) => `/v1/sessions/${i.session}/end`,
    roles: ['game_server'],
    foreign: true,
  },
  {
    name: 'replay',
    method: 'GET',
    path: (i) => `/v1/sessions/${i.session}/replay?verify=true`,
    roles: ['analyst', 'admin'],
    foreign: true,
  },
  {
    name: 'create key',
    method: 'POST',
    path: () => '/v1/api-keys',
    body: { role: 'game_server' },
    roles: ['admin'],
    foreign: false,
  },
  {
    name: 'revoke key',
    method: 'DELETE',
    path: (i) => `/v1/api-keys/${i.key}`,
    roles: ['admin'],
    foreign: true,
  },
  {
    // Operator keys only (the operator describe below): every tenant key, admin too, gets 403.
    name: 'create tenant',
    method: 'POST',
    path: () => '/v1/tenants',
    body: { name: 'made by a tenant key' },
    roles: [],
    foreign: false,
  },
];

let api: ApiFixture;
let tenantA: string;
const keysA = {} as Record<ApiKeyRole, TestKey>;
const keysB = {} as Record<ApiKeyRole, TestKey>;
let revoked: TestKey;
let ids: { session: string; key: string };

beforeAll(async () => {
  api = await createApiFixture();
  tenantA = await api.newTenant('a');
  const tenantB = await api.newTenant('b');
  for (const role of allRoles) {
    keysA[role] = await api.newKey(tenantA, role);
    keysB[role] = await api.newKey(tenantB, role);
  }
  revoked = await api.newKey(tenantA, 'admin');
  await revokeKey(api.db.pool, { id: revoked.id, actor: 'test' });
  const session = await api.agate.store.createSession({ tenantId: tenantA, rules: 'tiny' });
  await api.agate.store.appendEvents({
    tenantId: tenantA,
    sessionId: session.id,
    events: [inc(1), inc(2)],
  });
  const spare = await api.newKey(tenantA, 'game_server');
  ids = { session: session.id, key: spare.id };
});
afterAll(() => api.close());

function send(route: Route, key: string | undefined, headers?: Record<string, string>) {
  return api.call(route.method, route.path(ids), { key, body: route.body, headers });
}

describe('the auth matrix', () => {
  for (const route of routes) {
    it(`${route.name}: 401 without a key or with a bad or revoked one, 403 for other roles, 404 across tenants, and nothing changes`, async () => {
      const before = await databaseFingerprint(api.db);
      const expectProblem = async (
        what: string,
        status: number,
        code: string,
        key?: string,
        headers?: Record<string, string>,
      ) => {
        const reply = await send(route, key, headers);
        expect(reply.raw.headers['content-type'], what).toMatch(/^application\/problem\+json/);
        expect([what, reply.status, reply.json.code]).toEqual([what, status, code]);
      };
      await expectProblem('no key', 401, 'unauthorized');
      await expectProblem('not bearer', 401, 'unauthorized', undefined, {
        authorization: `Basic ${keysA.admin.key}`,
      });
      await expectProblem('malformed key', 401, 'unauthorized', 'not-a-key');
      await expectProblem('unknown key', 401, 'unauthorized', `agk_${'A'.repeat(43)}`);
      await expectProblem('revoked key', 401, 'unauthorized', revoked.key);
      for (const role of allRoles.filter((r) => !route.roles.includes(r))) {
        await expectProblem(`${role} key`, 403, 'forbidden', keysA[role].key);
      }
      if (route.foreign) {
        for (const role of route.roles) {
          const code = route.method === 'DELETE' ? 'not_found' : 'session_not_found';
          await expectProblem(`other tenant's ${role} key`, 404, code, keysB[role].key);
        }
      }
      expect(await databaseFingerprint(api.db)).toEqual(before);
    });
  }

  it('refuses an unauthenticated request before reading its body', async () => {
    const reply = await api.call('POST', '/v1/sessions', {
      payload: '{"rules": ',
      headers: { 'content-type': 'application/json' },
    });
    expect([reply.status, reply.json.code]).toEqual([401, 'unauthorized']);
  });

  it('takes the tenant from the key, never from the request', async () => {
    const created = await api.call('POST', '/v1/sessions', {
      key: keysB.game_server.key,
      body: { rules: 'tiny' },
      headers: { 'x-tenant-id': tenantA },
    });
    expect(created.status).toBe(201);
    const seenByA = await api.call('GET', `/v1/sessions/${created.json.id as string}`, {
      key: keysA.game_server.key,
    });
    expect(seenByA.status).toBe(404);
    const tenantOf = await api.db.pool.query<{ tenant_id: string }>(
      'SELECT tenant_id FROM game.sessions WHERE id = $1',
      [created.json.id],
    );
    expect(tenantOf.rows[0]?.tenant_id).toBe(keysB.game_server.tenantId);
  });

  it('reports a missing session exactly like another tenant’s one', async () => {
    const foreign = await api.call('GET', `/v1/sessions/${ids.session}`, {
      key: keysB.game_server.key,
    });
    const missing = await api.call('GET', `/v1/sessions/${uuidv7()}`, {
      key: keysB.game_server.key,
    });
    const strip = (body: Record<string, unknown>) => ({
      ...body,
      detail: String(body.detail).replace(/[0-9a-f-]{36}/g, 'ID'),
    });
    expect(strip(foreign.json)).toEqual(strip(missing.json));
    expect(foreign.status).toBe(missing.status);
  });
});

/** The audit entries an operator key's requests left, oldest first. */
async function usesOf(keyId: string) {
  const found = await api.db.pool.query<{
    subject: string;
    details: { allowed: boolean; requestId: string };
    tenant: string | null;
  }>(
    `SELECT subject, details, tenant_id AS tenant FROM admin.audit_log
      WHERE action = 'operator_key.used' AND actor = $1 ORDER BY occurred_at, id`,
    [keyId],
  );
  return found.rows;
}

describe('operator keys', () => {
  it("refuses a tenant admin's POST /v1/tenants with 403 and creates no tenant and no key", async () => {
    const before = await databaseFingerprint(api.db);
    const reply = await api.call('POST', '/v1/tenants', {
      key: keysA.admin.key,
      body: { name: 'a tenant of my own' },
    });
    expect([reply.status, reply.json.code]).toEqual([403, 'forbidden']);
    const after = await databaseFingerprint(api.db);
    expect(after).toEqual(before);
    expect(Number(after.tenants)).toBeGreaterThanOrEqual(2);
  });

  it('creates a tenant and its first admin key with an operator key, audited under the key id', async () => {
    const operator = await api.newOperatorKey();
    expect(operator.key).toMatch(/^ago_[A-Za-z0-9_-]{43}$/);
    const before = await databaseFingerprint(api.db);
    const reply = await api.call('POST', '/v1/tenants', {
      key: operator.key,
      body: { name: 'made by the operator' },
    });
    expect(reply.status).toBe(201);
    const tenantId = reply.json.id as string;
    const adminKey = reply.json.adminKey as { id: string; key: string; role: string };
    expect([reply.json.name, adminKey.role]).toEqual(['made by the operator', 'admin']);
    const after = await databaseFingerprint(api.db);
    expect(Number(after.tenants) - Number(before.tenants)).toBe(1);
    expect(Number(after.keys) - Number(before.keys)).toBe(1);
    const audit = await api.db.pool.query<{ action: string; tenant: string | null }>(
      `SELECT action, tenant_id AS tenant FROM admin.audit_log WHERE actor = $1
        ORDER BY occurred_at, id`,
      [operator.id],
    );
    expect(audit.rows).toEqual([
      { action: 'operator_key.used', tenant: null },
      { action: 'tenant.created', tenant: tenantId },
      { action: 'api_key.created', tenant: tenantId },
    ]);
    expect(await usesOf(operator.id)).toEqual([
      {
        subject: 'POST /v1/tenants',
        details: { allowed: true, requestId: expect.any(String) as string },
        tenant: null,
      },
    ]);
    // The first admin key works in the new tenant and nowhere else.
    const own = await api.call('POST', '/v1/api-keys', {
      key: adminKey.key,
      body: { role: 'game_server' },
    });
    expect(own.status).toBe(201);
    const foreign = await api.call('GET', `/v1/sessions/${ids.session}`, { key: adminKey.key });
    expect(foreign.status).toBe(404);
  });

  it('refuses a revoked operator key and a rotated-away one with 401; the replacement works', async () => {
    const revokedOperator = await api.newOperatorKey();
    await revokeKey(api.db.pool, { id: revokedOperator.id, actor: 'test' });
    const rotatedAway = await api.newOperatorKey();
    const replacement = await rotateKey(api.db.pool, { id: rotatedAway.id, actor: 'test' });
    expect(replacement?.key).toMatch(/^ago_/);
    const before = await databaseFingerprint(api.db);
    for (const key of [revokedOperator.key, rotatedAway.key]) {
      const reply = await api.call('POST', '/v1/tenants', { key, body: { name: 'never made' } });
      expect([reply.status, reply.json.code]).toEqual([401, 'unauthorized']);
    }
    expect(await databaseFingerprint(api.db)).toEqual(before);
    const made = await api.call('POST', '/v1/tenants', {
      key: replacement?.key,
      body: { name: 'made by the replacement' },
    });
    expect(made.status).toBe(201);
  });

  it('never takes a tenant key for an operator key or the other way round when the prefix is swapped', async () => {
    const operator = await api.newOperatorKey();
    const before = await databaseFingerprint(api.db);
    const asTenantKey = `agk_${operator.key.slice(4)}`;
    const asOperatorKey = `ago_${keysA.admin.key.slice(4)}`;
    for (const [key, url, body] of [
      [asTenantKey, `/v1/sessions/${ids.session}`, undefined],
      [asTenantKey, '/v1/tenants', { name: 'swapped' }],
      [asOperatorKey, '/v1/tenants', { name: 'swapped' }],
      [asOperatorKey, `/v1/sessions/${ids.session}`, undefined],
    ] as const) {
      const method = body === undefined ? 'GET' : 'POST';
      const reply = await api.call(method, url, { key, body });
      expect([url, reply.status, reply.json.code]).toEqual([url, 401, 'unauthorized']);
    }
    expect(await databaseFingerprint(api.db)).toEqual(before);
  });

  it('refuses an operator key on every tenant route with 403, shows it nothing and audits each try', async () => {
    const operator = await api.newOperatorKey();
    const before = await databaseFingerprint(api.db);
    const tenantRoutes = routes.filter((r) => r.name !== 'create tenant');
    for (const route of tenantRoutes) {
      const reply = await send(route, operator.key);
      expect([route.name, reply.status, reply.json.code]).toEqual([route.name, 403, 'forbidden']);
      expect(reply.raw.body).not.toContain(ids.session);
      expect(reply.raw.body).not.toContain(tenantA);
    }
    const after = await databaseFingerprint(api.db);
    expect({ ...after, audit: before.audit }).toEqual(before);
    expect(Number(after.audit) - Number(before.audit)).toBe(tenantRoutes.length);
    const uses = await usesOf(operator.id);
    expect(uses.map((u) => [u.subject.split(' ')[0], u.details.allowed, u.tenant])).toEqual(
      tenantRoutes.map((r) => [r.method, false, null]),
    );
  });
});
