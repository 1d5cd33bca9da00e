import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createServer } from '../../src/api/index.js';
import { importFixture, loadFixture } from '../../src/fixtures/index.js';
import { archiveGateV1, createGameCatalog } from '../../src/game/index.js';
import { importSessions } from '../../src/import/index.js';
import { createKey } from '../../src/keys/index.js';
import type { ApiKeyRole } from '../../src/keys/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { inc } from '../support/api.js';
import { recorded } from '../support/import-sessions.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyRules } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let app: FastifyInstance;
let tenantId: string;
const keys: Record<'server' | 'other' | 'admin', { id: string; key: string }> = {
  server: { id: '', key: '' },
  other: { id: '', key: '' },
  admin: { id: '', key: '' },
};

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: createGameCatalog([tinyRules, archiveGateV1]) });
  app = createServer({ agate, logger: pino({ level: 'silent' }), rateLimit: null });
  await app.ready();
  tenantId = (await createTenant(db.pool, { name: 'writers', actor: 'test' })).id;
  const roles: Record<keyof typeof keys, ApiKeyRole> = {
    server: 'game_server',
    other: 'game_server',
    admin: 'admin',
  };
  for (const name of Object.keys(keys) as (keyof typeof keys)[]) {
    const created = await createKey(db.pool, { tenantId, role: roles[name], actor: 'test' });
    keys[name] = { id: created.id, key: created.key };
  }
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, key: string, body?: unknown) {
  const raw = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  return {
    status: raw.statusCode,
    text: raw.body,
    json: JSON.parse(raw.body) as Record<string, unknown>,
  };
}

async function newSession(rules: string, playerId?: string): Promise<string> {
  const created = await call('POST', '/v1/sessions', keys.server.key, { rules, playerId });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

type Written = { writtenBy: string };
const writers = (value: unknown): string[] => (value as Written[]).map((w) => w.writtenBy);

async function rowsOf(sessionId: string) {
  const r = await db.pool.query<{ written_by: string; seed: string | null }>(
    `SELECT written_by, event_data->>'seed' AS seed FROM game.events WHERE session_id = $1 ORDER BY sequence`,
    [sessionId],
  );
  return r.rows;
}

describe('who may supply a seed', () => {
  it("refuses a game server's own seed on day.ended with 422 seed_not_allowed, storing nothing", async () => {
    const id = await newSession('archive-gate');
    const refused = await call('POST', `/v1/sessions/${id}/events`, keys.server.key, {
      events: [
        { type: 'day.started', data: {} },
        { type: 'day.ended', data: { seed: 'breach-free-day' } },
      ],
    });
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({
      code: 'seed_not_allowed',
      index: 1,
      eventType: 'day.ended',
    });
    expect((await call('GET', `/v1/sessions/${id}`, keys.server.key)).json.lastSequence).toBe(0);

    const drawn = await call('POST', `/v1/sessions/${id}/events`, keys.server.key, {
      events: [
        { type: 'day.started', data: {} },
        { type: 'day.ended', data: {} },
      ],
    });
    expect(drawn.status).toBe(201);
    const [, ended] = await rowsOf(id);
    expect(ended?.seed).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses a library append with a chosen day.ended seed unless it carries recorded history', async () => {
    const session = await agate.store.createSession({ tenantId, rules: 'archive-gate' });
    const ref = { tenantId, sessionId: session.id };
    const events = [{ type: 'day.ended', data: { seed: 'chosen' } }];
    await expect(agate.store.appendEvents({ ...ref, events })).rejects.toMatchObject({
      code: 'seed_not_allowed',
    });
    expect((await agate.store.getSession(ref)).lastSequence).toBe(0);
    const kept = await agate.store.appendEvents({ ...ref, events, recordedSeeds: true });
    expect(kept.ok).toBe(true);
    expect((await rowsOf(session.id))[0]).toEqual({ written_by: 'library', seed: 'chosen' });
  });

  it('keeps the recorded seeds of agate import and fixtures import, and records each as the writer', async () => {
    const session = recorded('writers-import', 40);
    const [imported] = await importSessions(db.pool, {
      tenantId,
      games: agate.games,
      sessions: [session],
    });
    const importedRows = await rowsOf(imported?.sessionId ?? '');
    expect(importedRows.map((r) => r.seed)).toEqual(
      session.events.map((e) => (e.data as { seed?: string }).seed ?? null),
    );
    expect(importedRows.some((r) => r.seed !== null)).toBe(true);
    expect(new Set(importedRows.map((r) => r.written_by))).toEqual(new Set(['import']));

    const fixture = await loadFixture(
      fileURLToPath(new URL('../../fixtures/archive-gate-v1/busy-days-250.json', import.meta.url)),
    );
    const fixtureSession = await importFixture(agate, tenantId, fixture);
    const fixtureRows = await rowsOf(fixtureSession);
    expect(fixtureRows.map((r) => r.seed)).toEqual(
      fixture.events.map((e) => (e.data as { seed?: string }).seed ?? null),
    );
    expect(new Set(fixtureRows.map((r) => r.written_by))).toEqual(new Set(['fixtures']));
    const sessionsWritten = await db.pool.query<{ written_by: string }>(
      'SELECT written_by FROM game.sessions WHERE id = ANY($1::uuid[]) ORDER BY written_by',
      [[imported?.sessionId, fixtureSession]],
    );
    expect(sessionsWritten.rows.map((r) => r.written_by)).toEqual(['fixtures', 'import']);
  });
});

describe('who wrote it', () => {
  it('records the key that wrote each session and event, shows it in the reads and the export, and keeps it after erasure', async () => {
    const player = await call('POST', '/v1/players', keys.server.key, { email: 'p@example.org' });
    const playerId = player.json.id as string;
    const id = await newSession('tiny', playerId);
    await call('POST', `/v1/sessions/${id}/events`, keys.other.key, { events: [inc(1), inc(2)] });
    await call('POST', `/v1/sessions/${id}/end`, keys.server.key, {});

    const byServer = `key:${keys.server.id}`;
    const byOther = `key:${keys.other.id}`;
    const session = await call('GET', `/v1/sessions/${id}`, keys.server.key);
    expect(session.json.writtenBy).toBe(byServer);
    const events = await call('GET', `/v1/sessions/${id}/events`, keys.admin.key);
    expect(writers(events.json.events)).toEqual([byOther, byOther, byServer]);

    for (const when of ['before erasure', 'after erasure']) {
      if (when === 'after erasure') {
        expect((await call('DELETE', `/v1/players/${playerId}`, keys.admin.key)).status).toBe(200);
      }
      const exported = await call('GET', `/v1/players/${playerId}/export`, keys.admin.key);
      expect(exported.status).toBe(200);
      expect(writers(exported.json.sessions)).toEqual([byServer]);
      expect(writers(exported.json.events)).toEqual([byOther, byOther, byServer]);
      expect(exported.text.includes('p@example.org')).toBe(when === 'before erasure');
    }
  });

  it('names the first differing event of a changed retry in the 409 problem, and returns no session secret from any route', async () => {
    const id = await newSession('tiny');
    const batch = [
      inc(1, uuidv7()),
      { eventId: uuidv7(), type: 'dice.rolled', data: { sides: 6 } },
    ];
    const url = `/v1/sessions/${id}/events`;
    const first = await call('POST', url, keys.server.key, { events: batch });
    const changed = [batch[0], { ...batch[1], data: { sides: 8 } }];
    const conflict = await call('POST', url, keys.server.key, { events: changed });
    expect(conflict.status).toBe(409);
    expect(conflict.json).toMatchObject({
      code: 'event_id_conflict',
      index: 1,
      eventId: batch[1]?.eventId,
      currentSequence: 2,
    });
    const retry = await call('POST', url, keys.server.key, { events: batch });
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(first.json);

    const secret = await db.pool.query<{ hex: string }>(
      `SELECT encode(secret, 'hex') AS hex FROM game.session_secrets WHERE session_id = $1`,
      [id],
    );
    const hex = secret.rows[0]?.hex ?? '';
    expect(hex).toHaveLength(64);
    const bodies = [
      first.text,
      conflict.text,
      (await call('GET', `/v1/sessions/${id}`, keys.admin.key)).text,
      (await call('GET', url, keys.admin.key)).text,
      (await call('GET', `/v1/sessions/${id}/state`, keys.server.key)).text,
    ];
    for (const body of bodies) expect(body.toLowerCase()).not.toContain(hex.slice(0, 16));
  });
});
