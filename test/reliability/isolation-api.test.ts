import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { isUuid } from '../../src/db/index.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture, Reply } from '../support/api.js';
import { seedTenant, tenantDigest, tenantTables } from './support/isolation-data.js';
import type { SeededTenant, TenantTable } from './support/isolation-data.js';
import {
  forgedAuthorizations,
  foreignCalls,
  injections,
  smuggledHeaders,
} from './support/isolation-inputs.js';
import type { Call } from './support/isolation-inputs.js';
import { tally } from './support/tally.js';

// Item 4 of issue 9, through the HTTP API: tenant B's keys aimed at tenant A's sessions, player
// and keys on every route; forged tenant headers and Authorization values; and injection strings
// (set_config, SET ROLE, SET app.tenant_id, quotes) in every text field the API stores. The API
// runs on the test pool, whose login is a superuser. An answer to B must never hold anything of
// A's (ids, seeds, names) that B did not send itself, and A's rows must never change.
// test/integration/api-auth checks one B key per route against a live session of A; this file
// adds snapshots, players and keys, ended and upper-cased ids, every role, and the smuggling.

let api: ApiFixture;
let a: SeededTenant;
let b: SeededTenant;
let tables: TenantTable[];
let operator: { id: string; key: string };
let attempts = 0;
let foreignSeen = 0;
let storedVerbatim = 0;

type Request = Omit<Call, 'roles'>;

/** Sends one request as B and counts every value of A's in the answer that B did not send. */
async function asB(
  request: Request,
  key: string | undefined,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const reply = await api.call(request.method, request.url, { key, body: request.body, headers });
  const sent = `${request.url} ${JSON.stringify(request.body ?? null)} ${JSON.stringify(headers)}`;
  // Compared in lower case: an answer may echo B's own spelling of an id, lower-cased.
  const answer = reply.raw.body.toLowerCase();
  const leaked = a.secrets.filter(
    (s) => !sent.toLowerCase().includes(s.toLowerCase()) && answer.includes(s.toLowerCase()),
  );
  attempts += 1;
  foreignSeen += leaked.length;
  const what = `${request.method} ${request.url}`;
  expect(leaked, what).toEqual([]);
  expect(reply.status, `${what}: ${reply.raw.body}`).toBeLessThan(500);
  return reply;
}

const idsOf = (t: SeededTenant, session: string) => ({
  session,
  player: t.playerId,
  key: t.keys.admin.id,
});

beforeAll(async () => {
  api = await createApiFixture();
  a = await seedTenant(api, 'a');
  b = await seedTenant(api, 'b');
  tables = await tenantTables(api.db.pool);
  operator = await api.newOperatorKey();
});
afterAll(async () => {
  tally(
    { section: 'isolation', what: 'isolation attempts', value: attempts },
    {
      section: 'isolation',
      what: 'rows of another tenant seen',
      value: foreignSeen,
      mustBeZero: true,
    },
    { section: 'isolation', what: 'injection strings stored verbatim', value: storedVerbatim },
  );
  await api?.close();
});

/** A session of B holding `text` in its seed, config and events, ended with `text` as reason. */
async function smuggleThroughSession(text: string, headers: Record<string, string>) {
  const server = b.keys.game_server.key;
  const config = { [text]: text, nested: { [text]: [text] } };
  const created = await asB(
    { method: 'POST', url: '/v1/sessions', body: { rules: 'tiny', seed: text, config } },
    server,
    headers,
  );
  expect(created.status, text).toBe(201);
  const sessionId = created.json.id as string;
  const url = `/v1/sessions/${sessionId}/events`;
  const events = [
    { type: 'note.written', version: 1, data: { text, extra: { [text]: text } } },
    { type: 'dice.rolled', version: 1, data: { sides: 6, seed: text } },
    { type: 'counter.incremented', version: 2, data: { by: 1, note: text } },
  ];
  expect((await asB({ method: 'POST', url, body: { events } }, server, headers)).status).toBe(201);
  // Refused where the text is not a valid value (a UUID is a valid event id, stored in B).
  for (const [body, statuses] of [
    [{ events: [{ type: text, data: {} }] }, [400, 422]],
    [
      { events: [{ eventId: text, type: 'note.written', data: { text } }] },
      isUuid(text) ? [201] : [400, 422],
    ],
    [{ events: [{ type: 'note.written', data: { text }, clientTime: text }] }, [400, 422]],
  ] as const) {
    const reply = await asB({ method: 'POST', url, body }, server, headers);
    expect(reply.status, text).toBeOneOf([...statuses]);
  }
  const end = { method: 'POST', url: `/v1/sessions/${sessionId}/end`, body: { reason: text } };
  expect((await asB(end as Request, server, headers)).status, text).toBe(201);
  const row = await api.db.pool.query(
    'SELECT tenant_id::text AS tenant, seed, config FROM game.sessions WHERE id = $1',
    [sessionId],
  );
  expect(row.rows[0]).toEqual({ tenant: b.id, seed: text, config });
  const stored = await api.db.pool.query<{ tenant: string; data: unknown }>(
    'SELECT tenant_id::text AS tenant, event_data AS data FROM game.events WHERE session_id = $1 ORDER BY sequence',
    [sessionId],
  );
  expect(new Set(stored.rows.map((e) => e.tenant))).toEqual(new Set([b.id]));
  expect(stored.rows.slice(0, 3).map((e) => e.data)).toEqual(events.map((e) => e.data));
  storedVerbatim += 1 + stored.rows.length;
}

/** A player, a tenant and a key made by B's keys with `text` as every name they take. */
async function smuggleThroughNames(text: string, headers: Record<string, string>) {
  const admin = b.keys.admin.key;
  const body = { externalRef: text, displayName: text };
  const player = await asB({ method: 'POST', url: '/v1/players', body }, admin, headers);
  if (player.status === 201) {
    const row = await api.db.pool.query(
      'SELECT tenant_id::text AS tenant, external_ref AS ref, display_name AS name FROM public.players WHERE id = $1',
      [player.json.id],
    );
    expect(row.rows[0]).toEqual({ tenant: b.id, ref: text, name: text });
    storedVerbatim += 1;
  }
  // A tenant admin may not create a tenant (ADR 0014); the operator stores the name verbatim.
  const byAdmin = { method: 'POST', url: '/v1/tenants', body: { name: text } } as const;
  expect((await asB(byAdmin, admin, headers)).status, text).toBe(403);
  const tenant = await asB(byAdmin, operator.key, headers);
  expect(tenant.status, text).toBe(201);
  const made = await api.db.pool.query(
    'SELECT t.name, k.tenant_id::text AS "keyTenant" FROM public.tenants t JOIN public.api_keys k ON k.tenant_id = t.id WHERE t.id = $1',
    [tenant.json.id],
  );
  expect(made.rows).toEqual([{ name: text.trim(), keyTenant: tenant.json.id }]);
  const key = await asB(
    { method: 'POST', url: '/v1/api-keys', body: { role: 'analyst', label: text } },
    admin,
    headers,
  );
  expect(key.status, text).toBe(201);
  const row = await api.db.pool.query(
    'SELECT tenant_id::text AS tenant, label FROM public.api_keys WHERE id = $1',
    [key.json.id],
  );
  expect(row.rows[0]).toEqual({ tenant: b.id, label: text });
  storedVerbatim += 2;
  // Neither the new tenant's admin key nor B's new key reaches tenant A.
  const newKeys = [(tenant.json.adminKey as { key: string }).key, key.json.key as string];
  for (const newKey of newKeys) {
    const reply = await asB({ method: 'GET', url: `/v1/sessions/${a.liveSession}` }, newKey);
    expect(reply.status).toBe(404);
  }
}

/** `text` in ids and queries: refused, or (a board for a game nobody plays) empty. */
async function smuggleThroughUrls(text: string, headers: Record<string, string>) {
  const admin = b.keys.admin.key;
  const t = encodeURIComponent(text);
  for (const url of [
    `/v1/sessions/${t}`,
    `/v1/sessions/${a.liveSession}${t}`,
    `/v1/sessions/${b.liveSession}/events?after=${t}`,
    `/v1/sessions/${b.liveSession}/replay?to=${t}`,
    `/v1/players/${t}/export`,
    `/v1/api-keys/${t}`,
  ]) {
    const method = url.startsWith('/v1/api-keys') ? 'DELETE' : 'GET';
    const reply = await asB({ method, url }, admin, headers);
    expect([url, reply.status >= 400]).toEqual([url, true]);
  }
  await asB({ method: 'GET', url: `/v1/leaderboard?rules=${t}` }, admin, headers);
}

describe('the tenant isolation battery, through the API', () => {
  it("answers 404 to tenant B on every route that names tenant A's session, player or key", async () => {
    const before = await tenantDigest(api.db.pool, tables, a.id);
    const sessions = [a.liveSession, a.endedSession, a.carrierSession];
    const calls = sessions.flatMap((session) => [
      ...foreignCalls(idsOf(a, session)),
      ...foreignCalls({
        session: session.toUpperCase(),
        player: a.playerId.toUpperCase(),
        key: a.keys.game_server.id.toUpperCase(),
      }),
    ]);
    let sessionRefusals = 0;
    for (const call of calls) {
      for (const role of call.roles) {
        const reply = await asB(call, b.keys[role].key);
        const what = `${role}: ${call.method} ${call.url}`;
        expect([what, reply.status]).toEqual([what, 404]);
        expect(['session_not_found', 'not_found'], what).toContain(reply.json.code);
        if (reply.json.code === 'session_not_found') sessionRefusals += 1;
      }
    }
    expect(sessionRefusals).toBeGreaterThan(calls.length);
    expect(await tenantDigest(api.db.pool, tables, a.id)).toEqual(before);
  });

  it("refuses the operator key with 403 on every route that names tenant A's session, player or key", async () => {
    const before = await tenantDigest(api.db.pool, tables, a.id);
    const calls = [
      ...foreignCalls(idsOf(a, a.liveSession)),
      ...foreignCalls(idsOf(a, a.endedSession)),
      { method: 'POST', url: '/v1/sessions', body: { rules: 'tiny' } } as const,
      { method: 'POST', url: '/v1/players', body: { externalRef: 'operator' } } as const,
      { method: 'POST', url: '/v1/api-keys', body: { role: 'admin' } } as const,
      { method: 'GET', url: '/v1/leaderboard?rules=tiny' } as const,
    ];
    for (const call of calls) {
      const reply = await asB(call, operator.key, { 'x-tenant-id': a.id });
      const what = `${call.method} ${call.url}`;
      expect([what, reply.status, reply.json.code]).toEqual([what, 403, 'forbidden']);
    }
    expect(await tenantDigest(api.db.pool, tables, a.id)).toEqual(before);
  });

  it("shows tenant B none of tenant A's ended sessions on its leaderboard", async () => {
    for (const role of ['game_server', 'analyst', 'admin'] as const) {
      const url = '/v1/leaderboard?rules=tiny&limit=100';
      const board = await asB({ method: 'GET', url }, b.keys[role].key);
      expect(board.status).toBe(200);
      const ids = (board.json.entries as { sessionId: string }[]).map((e) => e.sessionId);
      expect(ids.filter((id) => a.secrets.includes(id))).toEqual([]);
    }
  });

  it('takes the tenant from the key whatever the tenant headers say', async () => {
    const before = await tenantDigest(api.db.pool, tables, a.id);
    for (const headers of smuggledHeaders(a.id, a.keys.admin.id)) {
      for (const call of foreignCalls(idsOf(a, a.liveSession))) {
        const reply = await asB(call, b.keys[call.roles[0] ?? 'admin'].key, headers);
        expect([call.url, reply.status]).toEqual([call.url, 404]);
      }
      const create = { method: 'POST', url: '/v1/sessions', body: { rules: 'tiny' } } as const;
      const created = await asB(create, b.keys.game_server.key, headers);
      expect(created.status).toBe(201);
      const owner = await api.db.pool.query<{ t: string }>(
        'SELECT tenant_id::text AS t FROM game.sessions WHERE id = $1',
        [created.json.id],
      );
      expect(owner.rows[0]?.t).toBe(b.id);
    }
    expect(await tenantDigest(api.db.pool, tables, a.id)).toEqual(before);
  });

  it('refuses a forged Authorization with 401, and a real key of B stays B', async () => {
    const victim = { id: a.id, key: a.keys.admin.key, keyId: a.keys.admin.id };
    const forged = forgedAuthorizations(victim, b.keys.admin.key);
    for (const authorization of forged) {
      for (const call of foreignCalls(idsOf(a, a.liveSession)).slice(0, 3)) {
        const reply = await asB(call, undefined, { authorization, 'x-tenant-id': a.id });
        const seen = [authorization, reply.status, reply.json.code];
        expect(seen).toEqual([authorization, 401, 'unauthorized']);
      }
    }
    const keyB = b.keys.admin.key;
    for (const authorization of [`bearer ${keyB}`, `Bearer\t${keyB}`, `Bearer  ${keyB}  `]) {
      const get = { method: 'GET', url: `/v1/sessions/${a.liveSession}` } as const;
      const reply = await asB(get, undefined, { authorization, 'x-tenant-id': a.id });
      expect([authorization, reply.status]).toEqual([authorization, 404]);
    }
  });

  it("stores injection strings verbatim, in the key's tenant, in every text field", async () => {
    const before = await tenantDigest(api.db.pool, tables, a.id);
    const headerSets = smuggledHeaders(a.id, a.keys.admin.id);
    for (const [i, text] of injections(a.id).entries()) {
      const headers = headerSets[i % headerSets.length] ?? {};
      await smuggleThroughSession(text, headers);
      await smuggleThroughNames(text, headers);
      await smuggleThroughUrls(text, headers);
    }
    expect(storedVerbatim).toBeGreaterThan(injections(a.id).length * 5);
    expect(await tenantDigest(api.db.pool, tables, a.id)).toEqual(before);
  });

  it('still serves tenant A its own rows after the attacks (the battery is not vacuous)', async () => {
    const events = await api.call('GET', `/v1/sessions/${a.liveSession}/events`, {
      key: a.keys.analyst.key,
    });
    expect([events.status, (events.json.events as unknown[]).length]).toEqual([200, 3]);
    const exported = await api.call('GET', `/v1/players/${a.playerId}/export`, {
      key: a.keys.admin.key,
    });
    expect(exported.status).toBe(200);
    const missing = await api.call('GET', `/v1/sessions/${uuidv7()}`, { key: a.keys.analyst.key });
    expect(missing.status).toBe(404);
  });
});
