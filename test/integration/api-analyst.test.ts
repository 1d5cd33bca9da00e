import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';

let api: ApiFixture;
let tenantId: string;
let analyst: TestKey;
let admin: TestKey;
let sessionId: string;

type AuditRow = {
  tenant_id: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
};

async function auditOf(actor: string): Promise<AuditRow[]> {
  const result = await api.db.pool.query<AuditRow>(
    'SELECT tenant_id, actor, action, subject, details FROM admin.audit_log WHERE actor = $1 ORDER BY occurred_at, id',
    [actor],
  );
  return result.rows;
}

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant('analysts');
  analyst = await api.newKey(tenantId, 'analyst');
  admin = await api.newKey(tenantId, 'admin');
  const session = await api.agate.store.createSession({ tenantId, rules: 'tiny', seed: 'analyst' });
  sessionId = session.id;
  for (let done = 0; done < 120; done += 40) {
    const events = Array.from({ length: 40 }, (_, i) => inc(done + i));
    await api.agate.store.appendEvents({ tenantId, sessionId, events });
  }
  await api.agate.idle();
});
afterAll(() => api.close());

describe('the analyst flow over HTTP', () => {
  it('replays with verify from genesis, from the newest snapshot, and to a sequence with a trace, each audited', async () => {
    const truth = await api.agate.replay({ tenantId, sessionId, from: 'genesis' });
    const base = `/v1/sessions/${sessionId}/replay`;

    const verified = await api.call('GET', `${base}?verify=true`, { key: analyst.key });
    expect(verified.status).toBe(200);
    expect(verified.json).toMatchObject({
      sessionId,
      sequence: 120,
      stateHash: truth.stateHash,
      state: truth.state,
      verified: true,
      divergences: [],
      snapshotUsed: null,
    });

    const fromSnapshot = await api.call('GET', base, { key: analyst.key });
    expect(fromSnapshot.json).toMatchObject({
      stateHash: truth.stateHash,
      verified: null,
      snapshotUsed: { sequence: 100, reason: 'interval' },
    });
    expect(fromSnapshot.json).not.toHaveProperty('trace');

    const traced = await api.call('GET', `${base}?to=10&from=genesis&trace=true`, {
      key: analyst.key,
    });
    const at10 = await api.agate.replay({ tenantId, sessionId, to: 10, from: 'genesis' });
    expect(traced.status).toBe(200);
    expect(traced.json).toMatchObject({
      sequence: 10,
      stateHash: at10.stateHash,
      snapshotUsed: null,
    });
    const trace = traced.json.trace as { sequence: number; stateHash: string }[];
    expect(trace.map((s) => s.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(trace.at(-1)?.stateHash).toBe(at10.stateHash);

    const audit = await auditOf(analyst.id);
    expect(audit).toHaveLength(3);
    expect(
      audit.every((row) => row.action === 'session.replayed' && row.subject === sessionId),
    ).toBe(true);
    expect(audit.every((row) => row.tenant_id === tenantId)).toBe(true);
    expect(audit[2]?.details).toMatchObject({
      query: { to: 10, from: 'genesis', trace: true },
      sequence: 10,
    });
  });

  it('lets admins replay too, audited under their key', async () => {
    const reply = await api.call('GET', `/v1/sessions/${sessionId}/replay?verify=1`, {
      key: admin.key,
    });
    expect(reply.json.verified).toBe(true);
    expect((await auditOf(admin.id)).map((r) => r.action)).toContain('session.replayed');
  });

  it('refuses bad replay parameters with 400 and writes no audit entry', async () => {
    const before = (await auditOf(analyst.id)).length;
    for (const query of [
      'to=abc',
      'to=121',
      'to=-1',
      'from=yesterday',
      'verify=maybe',
      'trace=all',
      'depth=3',
    ]) {
      const reply = await api.call('GET', `/v1/sessions/${sessionId}/replay?${query}`, {
        key: analyst.key,
      });
      expect([query, reply.status, reply.json.code]).toEqual([query, 400, 'invalid_request']);
    }
    const missing = await api.call('GET', `/v1/sessions/${uuidv7()}/replay`, { key: analyst.key });
    expect(missing.status).toBe(404);
    expect(await auditOf(analyst.id)).toHaveLength(before);
  });

  it('lets analysts read sessions, events and state but not write', async () => {
    expect(
      (await api.call('GET', `/v1/sessions/${sessionId}`, { key: analyst.key })).json.lastSequence,
    ).toBe(120);
    const page = await api.call('GET', `/v1/sessions/${sessionId}/events?after=118`, {
      key: analyst.key,
    });
    expect(page.json).toMatchObject({ nextAfter: null });
    expect((page.json.events as unknown[]).length).toBe(2);
    const state = await api.call('GET', `/v1/sessions/${sessionId}/state`, { key: analyst.key });
    expect(state.json.sequence).toBe(120);
    const append = await api.call('POST', `/v1/sessions/${sessionId}/events`, {
      key: analyst.key,
      body: { events: [inc(1)] },
    });
    expect([append.status, append.json.code]).toEqual([403, 'forbidden']);
  });
});

describe('API keys over HTTP', () => {
  it('creates a key once, which works at once; revokes it, after which it is refused; both audited', async () => {
    const created = await api.call('POST', '/v1/api-keys', {
      key: admin.key,
      body: { role: 'game_server', label: 'edge-1' },
    });
    expect(created.status).toBe(201);
    expect(created.raw.headers['cache-control']).toBe('no-store');
    const { id, key } = created.json as { id: string; key: string };
    expect(key).toMatch(/^agk_[A-Za-z0-9_-]{43}$/);

    const stored = await api.db.pool.query<{
      tenant_id: string;
      role: string;
      label: string;
      hex: string;
    }>(
      "SELECT tenant_id, role, label, encode(key_hash, 'hex') AS hex FROM public.api_keys WHERE id = $1",
      [id],
    );
    expect(stored.rows[0]).toMatchObject({
      tenant_id: tenantId,
      role: 'game_server',
      label: 'edge-1',
    });
    expect(stored.rows[0]?.hex).toBe(createHash('sha256').update(key).digest('hex'));

    const used = await api.call('POST', '/v1/sessions', { key, body: { rules: 'tiny' } });
    expect(used.status).toBe(201);

    const revoked = await api.call('DELETE', `/v1/api-keys/${id}`, { key: admin.key });
    expect(revoked.status).toBe(204);
    const refused = await api.call('POST', '/v1/sessions', { key, body: { rules: 'tiny' } });
    expect([refused.status, refused.json.code]).toEqual([401, 'unauthorized']);
    expect((await api.call('DELETE', `/v1/api-keys/${id}`, { key: admin.key })).status).toBe(204);
    const missing = await api.call('DELETE', `/v1/api-keys/${uuidv7()}`, { key: admin.key });
    expect([missing.status, missing.json.code]).toEqual([404, 'not_found']);

    const audit = (await auditOf(admin.id)).filter((r) => r.subject === id);
    expect(audit.map((r) => r.action)).toEqual(['api_key.created', 'api_key.revoked']);
    expect(audit[0]?.details).toEqual({ role: 'game_server', label: 'edge-1' });
    expect(JSON.stringify(audit)).not.toContain(key);
  });

  it('refuses a key with an unknown role or extra fields, creating nothing', async () => {
    for (const body of [{ role: 'root' }, { role: 'admin', tenantId: uuidv7() }, {}]) {
      const reply = await api.call('POST', '/v1/api-keys', { key: admin.key, body });
      expect([reply.status, reply.json.code]).toEqual([400, 'invalid_request']);
    }
  });
});

describe('trace limits', () => {
  it('refuses a trace with states over 1,000 events, and serves one of exactly 1,000', async () => {
    const long = await api.agate.store.createSession({ tenantId, rules: 'tiny', seed: 'long' });
    for (let done = 0; done < 1001; done += 500) {
      const count = Math.min(500, 1001 - done);
      const events = Array.from({ length: count }, (_, i) => inc(done + i));
      await api.agate.store.appendEvents({ tenantId, sessionId: long.id, events });
    }
    const base = `/v1/sessions/${long.id}/replay?from=genesis&trace=state`;
    const refused = await api.call('GET', base, { key: analyst.key });
    expect([refused.status, refused.json.code]).toEqual([400, 'invalid_request']);
    expect(refused.json.detail).toMatch(/at most 1000 events and this replay folds 1001/);
    const served = await api.call('GET', `${base}&to=1000`, { key: analyst.key });
    expect(served.status).toBe(200);
    expect(served.json.trace).toHaveLength(1000);
  });
});
