import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import type { ApiKeyRole } from '../../src/keys/index.js';
import { revokeKey } from '../../src/keys/index.js';
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
