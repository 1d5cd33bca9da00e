import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import type { NewEvent } from '../../src/events/index.js';
import { piiColumns } from '../../src/players/index.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';

let fx: ApiFixture;
let tenantA: string;
let tenantB: string;
let adminA: TestKey;
let gameA: TestKey;
let analystA: TestKey;
let adminB: TestKey;
let gameB: TestKey;

type Pii = { externalRef: string; displayName: string; email: string };
type ColumnRef = { schema: string; table: string; column: string };

function newPii(label: string): Pii {
  const tag = randomBytes(6).toString('hex');
  return {
    externalRef: `ext-${label}-${tag}`,
    displayName: `Name ${label} ${tag}`,
    email: `mail.${label}.${tag}@example.org`,
  };
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const tableOf = (ref: ColumnRef) => `${quote(ref.schema)}.${quote(ref.table)}`;

async function createPlayer(key: TestKey, body: unknown): Promise<string> {
  const reply = await fx.call('POST', '/v1/players', { key: key.key, body });
  expect(reply.status).toBe(201);
  expect(Object.keys(reply.json)).toEqual(['id']);
  return reply.json.id as string;
}

/** A session of the player with `count` events (dice, notes and increments), in batches of 500. */
async function playedSession(tenantId: string, playerId: string, count: number): Promise<string> {
  const session = await fx.agate.store.createSession({ tenantId, rules: 'tiny', playerId });
  for (let done = 0; done < count; done += 500) {
    const events = Array.from({ length: Math.min(500, count - done) }, (_, i): NewEvent => {
      const n = done + i;
      if (n % 7 === 3) return { type: 'dice.rolled', data: { sides: 6, seed: `s${n}` } };
      if (n % 11 === 5) return { type: 'note.written', data: { text: `note ${n}` } };
      return inc(n % 5);
    });
    const result = await fx.agate.store.appendEvents({ tenantId, sessionId: session.id, events });
    expect(result.ok).toBe(true);
  }
  return session.id;
}

async function countPlayers(): Promise<number> {
  const result = await fx.db.pool.query<{ n: number }>(
    'SELECT count(*)::integer AS n FROM public.players',
  );
  return result.rows[0]?.n ?? -1;
}

async function auditAbout(subject: string) {
  const result = await fx.db.pool.query<{
    action: string;
    actor: string;
    tenant_id: string;
    details: Record<string, unknown>;
  }>(
    'SELECT action, actor, tenant_id, details FROM admin.audit_log WHERE subject = $1 ORDER BY occurred_at, id',
    [subject],
  );
  return result.rows;
}

/** Every column of every table, in any schema, whose comment is 'pii' (from the catalog). */
async function catalogPiiColumns(): Promise<ColumnRef[]> {
  const result = await fx.db.pool.query<ColumnRef>(`
    SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE a.attnum > 0 AND NOT a.attisdropped
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
       AND pg_catalog.col_description(a.attrelid, a.attnum) = 'pii'
     ORDER BY 1, 2, a.attnum`);
  return result.rows;
}

/** Every text-like (string category), json or jsonb column, or array of one, of every table. */
async function textColumns(): Promise<ColumnRef[]> {
  const result = await fx.db.pool.query<ColumnRef>(`
    SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
     WHERE n.nspname IN ('public', 'game', 'admin')
       AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND a.attnum > 0 AND NOT a.attisdropped
       AND (t.typcategory = 'S' OR t.typname IN ('json', 'jsonb')
            OR e.typcategory = 'S' OR e.typname IN ('json', 'jsonb'))
     ORDER BY 1, 2, 3`);
  return result.rows;
}

/** Where any of `needles` occurs (case-insensitive substring) in any text/json column. */
async function findStrings(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const ref of await textColumns()) {
    for (const needle of needles) {
      const result = await fx.db.pool.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM ${tableOf(ref)}
          WHERE strpos(lower(${quote(ref.column)}::text), lower($1)) > 0`,
        [needle],
      );
      if ((result.rows[0]?.n ?? 0) > 0) found.push(`${needle} in ${tableOf(ref)}.${ref.column}`);
    }
  }
  return found;
}

/** Values of the player (by id or player_id) or equal to its former PII, in every PII column. */
async function piiValuesOf(playerId: string, former: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const ref of await catalogPiiColumns()) {
    const columns = await fx.db.pool.query<{ name: string }>(
      `SELECT attname AS name FROM pg_catalog.pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
      [tableOf(ref)],
    );
    const names = columns.rows.map((r) => r.name);
    const owner =
      ref.schema === 'public' && ref.table === 'players'
        ? 'id = $1'
        : names.includes('player_id')
          ? 'player_id = $1'
          : 'false';
    const result = await fx.db.pool.query<{ value: string }>(
      `SELECT ${quote(ref.column)}::text AS value FROM ${tableOf(ref)}
        WHERE (${owner} AND ${quote(ref.column)} IS NOT NULL)
           OR ${quote(ref.column)}::text = ANY($2::text[])`,
      [playerId, former],
    );
    for (const row of result.rows) found.push(`${tableOf(ref)}.${ref.column}: ${row.value}`);
  }
  return found;
}

async function replayOf(sessionId: string) {
  const reply = await fx.call('GET', `/v1/sessions/${sessionId}/replay?verify=true&from=genesis`, {
    key: analystA.key,
  });
  expect(reply.status).toBe(200);
  return reply.json as { stateHash: string; verified: boolean | null; divergences: unknown[] };
}

beforeAll(async () => {
  fx = await createApiFixture();
  tenantA = await fx.newTenant('players a');
  tenantB = await fx.newTenant('players b');
  adminA = await fx.newKey(tenantA, 'admin');
  gameA = await fx.newKey(tenantA, 'game_server');
  analystA = await fx.newKey(tenantA, 'analyst');
  adminB = await fx.newKey(tenantB, 'admin');
  gameB = await fx.newKey(tenantB, 'game_server');
});
afterAll(() => fx.close());

describe('creating players', () => {
  it('creates a player for a game server or an admin, storing the PII in public.players only', async () => {
    const pii = newPii('create');
    const id = await createPlayer(gameA, pii);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const row = await fx.db.pool.query(
      'SELECT tenant_id, external_ref, display_name, email, erased_at FROM public.players WHERE id = $1',
      [id],
    );
    expect(row.rows).toEqual([
      {
        tenant_id: tenantA,
        external_ref: pii.externalRef,
        display_name: pii.displayName,
        email: pii.email,
        erased_at: null,
      },
    ]);
    expect(await createPlayer(adminA, {})).not.toBe(id);
    expect(await createPlayer(gameA, undefined)).not.toBe(id);

    const session = await fx.call('POST', '/v1/sessions', {
      key: gameA.key,
      body: { rules: 'tiny', playerId: id },
    });
    expect(session.status).toBe(201);
    const foreign = await fx.call('POST', '/v1/sessions', {
      key: gameB.key,
      body: { rules: 'tiny', playerId: id },
    });
    expect([foreign.status, foreign.json.code]).toEqual([400, 'invalid_request']);
  });

  it('refuses bad bodies and a duplicate externalRef with 400, storing nothing', async () => {
    const taken = newPii('taken');
    await createPlayer(gameA, { externalRef: taken.externalRef });
    // The same externalRef in another tenant is another player.
    await createPlayer(gameB, { externalRef: taken.externalRef });
    const players = await countPlayers();
    const audit = await fx.db.pool.query('SELECT count(*) FROM admin.audit_log');
    for (const body of [
      { externalRef: taken.externalRef },
      { email: 'not-an-email' },
      { email: 'two@@example.org' },
      { email: 'spaced out@example.org' },
      { email: `${'a'.repeat(250)}@example.org` },
      { displayName: '' },
      { displayName: 'tab\there' },
      { displayName: 'nul\u0000here' },
      { externalRef: 'x'.repeat(201) },
      { externalRef: 42 },
      { nickname: 'extra field' },
      { displayName: 'ok', tenantId: tenantB },
      [],
      { displayName: null },
    ]) {
      const reply = await fx.call('POST', '/v1/players', { key: gameA.key, body });
      expect([JSON.stringify(body), reply.status, reply.json.code]).toEqual([
        JSON.stringify(body),
        400,
        'invalid_request',
      ]);
    }
    const duplicate = await fx.call('POST', '/v1/players', {
      key: gameA.key,
      body: { externalRef: taken.externalRef },
    });
    expect(duplicate.json.detail).toMatch(/externalRef already exists in this tenant/);
    expect(duplicate.json.detail).not.toContain(taken.externalRef);
    expect(await countPlayers()).toBe(players);
    expect((await fx.db.pool.query('SELECT count(*) FROM admin.audit_log')).rows).toEqual(
      audit.rows,
    );
  });
});

describe('exporting and erasing a player', () => {
  const pii = newPii('subject');
  const otherPii = newPii('other');
  const foreignPii = newPii('foreign');
  let playerId: string;
  let otherId: string;
  let foreignId: string;
  let sessionIds: string[];
  let otherSessionId: string;
  let foreignSessionId: string;
  const hashesBefore = new Map<string, string>();

  beforeAll(async () => {
    playerId = await createPlayer(gameA, pii);
    otherId = await createPlayer(gameA, otherPii);
    foreignId = await createPlayer(gameB, foreignPii);
    // 1,250 events: more than one page of the export's reads.
    sessionIds = [
      await playedSession(tenantA, playerId, 1_250),
      await playedSession(tenantA, playerId, 30),
    ];
    await fx.agate.store.endSession({ tenantId: tenantA, sessionId: sessionIds[1] ?? '' });
    otherSessionId = await playedSession(tenantA, otherId, 5);
    foreignSessionId = await playedSession(tenantB, foreignId, 5);
  });

  it('exports the PII, every session and every event of the player and nothing of others, uncached and audited', async () => {
    const reply = await fx.call('GET', `/v1/players/${playerId}/export`, { key: adminA.key });
    expect(reply.status).toBe(200);
    expect(reply.raw.headers['cache-control']).toBe('no-store');
    const body = reply.json as {
      player: Record<string, unknown>;
      sessions: { id: string; playerId: string; lastSequence: number; seed: string }[];
      events: { sessionId: string; sequence: number; hash: string; data: unknown }[];
      auditEntries: unknown[];
    };
    expect(body.player).toMatchObject({
      id: playerId,
      tenantId: tenantA,
      ...pii,
      erasedAt: null,
    });
    expect(body.sessions.map((s) => s.id).sort()).toEqual([...sessionIds].sort());
    expect(body.sessions.every((s) => s.playerId === playerId)).toBe(true);

    for (const sessionId of sessionIds) {
      const stored = await fx.db.pool.query<{ sequence: number; hash: string; data: unknown }>(
        `SELECT sequence, encode(hash, 'hex') AS hash, event_data AS data
           FROM game.events WHERE session_id = $1 ORDER BY sequence`,
        [sessionId],
      );
      const session = body.sessions.find((s) => s.id === sessionId);
      expect(stored.rows.length).toBe(session?.lastSequence);
      const exported = body.events
        .filter((e) => e.sessionId === sessionId)
        .map(({ sequence, hash, data }) => ({ sequence, hash, data }));
      expect(exported).toEqual(stored.rows);
    }
    expect(body.events).toHaveLength(1_250 + 31);

    const text = reply.raw.body;
    for (const absent of [
      otherId,
      otherSessionId,
      foreignId,
      foreignSessionId,
      ...Object.values(otherPii),
      ...Object.values(foreignPii),
    ]) {
      expect(text).not.toContain(absent);
    }

    const audit = await auditAbout(playerId);
    expect(audit).toEqual([
      {
        action: 'player.exported',
        actor: adminA.id,
        tenant_id: tenantA,
        details: { sessions: 2, events: 1_281, auditEntries: 0, erased: false },
      },
    ]);
  });

  it('erases every PII value of the player and keeps its sessions replaying to the same state', async () => {
    const former = Object.values(pii);
    for (const sessionId of sessionIds) {
      const replay = await replayOf(sessionId);
      expect(replay).toMatchObject({ verified: true, divergences: [] });
      hashesBefore.set(sessionId, replay.stateHash);
    }
    // The searches see the PII before erasure, so finding nothing afterwards means something.
    expect((await piiValuesOf(playerId, former)).length).toBe(3);
    expect((await findStrings(former)).length).toBeGreaterThanOrEqual(3);

    const erased = await fx.call('DELETE', `/v1/players/${playerId}`, { key: adminA.key });
    expect(erased.status).toBe(200);
    expect(erased.json).toEqual({
      id: playerId,
      erasedAt: expect.any(String) as unknown,
      sessions: 2,
      alreadyErased: false,
    });

    expect(await piiValuesOf(playerId, former)).toEqual([]);
    expect(await findStrings(former)).toEqual([]);
    const row = await fx.db.pool.query<{ erased_at: Date }>(
      'SELECT erased_at FROM public.players WHERE id = $1',
      [playerId],
    );
    expect(row.rows[0]?.erased_at.toISOString()).toBe(erased.json.erasedAt);

    for (const sessionId of sessionIds) {
      const replay = await replayOf(sessionId);
      expect(replay).toMatchObject({
        stateHash: hashesBefore.get(sessionId),
        verified: true,
        divergences: [],
      });
    }

    const entries = (await auditAbout(playerId)).filter((e) => e.action === 'player.erased');
    expect(entries).toEqual([
      {
        action: 'player.erased',
        actor: adminA.id,
        tenant_id: tenantA,
        details: { columns: ['external_ref', 'display_name', 'email'], sessions: 2 },
      },
    ]);

    // The other players keep theirs.
    const kept = [...Object.values(otherPii), ...Object.values(foreignPii)];
    expect((await findStrings(kept)).length).toBeGreaterThanOrEqual(kept.length);
  });

  it('answers a repeated erasure with 200, the first time and alreadyErased, writing no second entry', async () => {
    const first = await fx.db.pool.query<{ erased_at: Date }>(
      'SELECT erased_at FROM public.players WHERE id = $1',
      [playerId],
    );
    const again = await fx.call('DELETE', `/v1/players/${playerId}`, { key: adminA.key });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({
      id: playerId,
      erasedAt: first.rows[0]?.erased_at.toISOString(),
      sessions: 2,
      alreadyErased: true,
    });
    const entries = (await auditAbout(playerId)).filter((e) => e.action === 'player.erased');
    expect(entries).toHaveLength(1);
  });

  it('erases once when two erasures race', async () => {
    const racer = await createPlayer(gameA, newPii('race'));
    const replies = await Promise.all([
      fx.call('DELETE', `/v1/players/${racer}`, { key: adminA.key }),
      fx.call('DELETE', `/v1/players/${racer}`, { key: adminA.key }),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    expect(replies.map((r) => r.json.alreadyErased).sort()).toEqual([false, true]);
    expect((await auditAbout(racer)).map((e) => e.action)).toEqual(['player.erased']);
  });

  it('still exports an erased player: no PII, its sessions and events, and the audit entries', async () => {
    const reply = await fx.call('GET', `/v1/players/${playerId}/export`, { key: adminA.key });
    expect(reply.status).toBe(200);
    const body = reply.json as {
      player: Record<string, unknown>;
      sessions: unknown[];
      events: unknown[];
      auditEntries: { action: string; subject: string; details: unknown }[];
    };
    expect(body.player).toMatchObject({
      id: playerId,
      externalRef: null,
      displayName: null,
      email: null,
      erasedAt: expect.any(String) as unknown,
    });
    expect(body.sessions).toHaveLength(2);
    expect(body.events).toHaveLength(1_281);
    expect(body.auditEntries.map((e) => e.action)).toEqual(['player.exported', 'player.erased']);
    expect(body.auditEntries.every((e) => e.subject === playerId)).toBe(true);
    for (const value of Object.values(pii)) expect(reply.raw.body).not.toContain(value);
  });

  it('marks PII only in public.players, in the columns erasure clears', async () => {
    const marked = await catalogPiiColumns();
    expect(marked.every((c) => c.schema === 'public' && c.table === 'players')).toBe(true);
    expect(await piiColumns(fx.db.pool)).toEqual(marked.map((c) => c.column));
    expect(marked.map((c) => c.column)).toEqual(['external_ref', 'display_name', 'email']);
  });
});

describe('who may call the player routes', () => {
  let playerId: string;
  const pii = newPii('guarded');

  beforeAll(async () => {
    playerId = await createPlayer(gameA, pii);
  });

  it('refuses requests without a key with 401', async () => {
    for (const [method, url] of [
      ['POST', '/v1/players'],
      ['GET', `/v1/players/${playerId}/export`],
      ['DELETE', `/v1/players/${playerId}`],
    ] as const) {
      const reply = await fx.call(method, url, method === 'POST' ? { body: {} } : {});
      expect([url, reply.status, reply.json.code]).toEqual([url, 401, 'unauthorized']);
    }
  });

  it('refuses game servers the export and the erasure, and analysts every player route, with 403', async () => {
    const cases = [
      [gameA, 'GET', `/v1/players/${playerId}/export`],
      [gameA, 'DELETE', `/v1/players/${playerId}`],
      [analystA, 'POST', '/v1/players'],
      [analystA, 'GET', `/v1/players/${playerId}/export`],
      [analystA, 'DELETE', `/v1/players/${playerId}`],
    ] as const;
    for (const [key, method, url] of cases) {
      const reply = await fx.call(method, url, {
        key: key.key,
        ...(method === 'POST' ? { body: {} } : {}),
      });
      expect([key.role, method, reply.status, reply.json.code]).toEqual([
        key.role,
        method,
        403,
        'forbidden',
      ]);
    }
  });

  it('answers 404 for another tenant’s player, an unknown id and a malformed one, changing nothing', async () => {
    for (const [key, id] of [
      [adminB, playerId],
      [adminA, uuidv7()],
      [adminA, 'not-a-uuid'],
    ] as const) {
      for (const [method, url] of [
        ['GET', `/v1/players/${id}/export`],
        ['DELETE', `/v1/players/${id}`],
      ] as const) {
        const reply = await fx.call(method, url, { key: key.key });
        expect([method, id, reply.status, reply.json.code]).toEqual([method, id, 404, 'not_found']);
        expect(reply.json.detail).toMatch(/does not exist in this tenant; check the id/);
      }
    }
    const row = await fx.db.pool.query(
      'SELECT external_ref, display_name, email, erased_at FROM public.players WHERE id = $1',
      [playerId],
    );
    expect(row.rows).toEqual([
      {
        external_ref: pii.externalRef,
        display_name: pii.displayName,
        email: pii.email,
        erased_at: null,
      },
    ]);
    expect(await auditAbout(playerId)).toEqual([]);
  });
});
