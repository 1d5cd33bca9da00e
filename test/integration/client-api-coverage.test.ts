import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgateClient, AgateClientError } from '../../src/client/index.js';
import type { NewEventOf } from '../../src/client/index.js';
import { archiveGateV1, createGameCatalog } from '../../src/game/index.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { tinyRules } from '../support/tiny-rules.js';

// Issue 17, items 5 and 7: the client covers the API's games, snapshots, leaderboard and
// players, with the same error handling as the rest (AgateClientError with the API's code), and
// its typed append for a game works against a real server.

let api: ApiFixture;
let keys: Record<'game_server' | 'analyst' | 'admin', TestKey>;
let baseUrl: string;

beforeAll(async () => {
  api = await createApiFixture({ games: createGameCatalog([tinyRules, archiveGateV1]) });
  const tenantId = await api.newTenant('client coverage');
  keys = {
    game_server: await api.newKey(tenantId, 'game_server'),
    analyst: await api.newKey(tenantId, 'analyst'),
    admin: await api.newKey(tenantId, 'admin'),
  };
  baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => api.close());

function client(role: keyof typeof keys): AgateClient {
  return new AgateClient({ baseUrl, apiKey: keys[role].key, backoffMs: 1 });
}

async function refusal(promise: Promise<unknown>): Promise<AgateClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgateClientError);
  return error as AgateClientError;
}

describe('AgateClient games', () => {
  it('lists the games the server runs and gets one, with their event types', async () => {
    const games = await client('game_server').games();
    expect(games.map((g) => `${g.rules}@${g.version}`)).toEqual(['archive-gate@1', 'tiny@1']);
    const gate = await client('analyst').getGame('archive-gate', 1);
    expect(gate).toEqual(games[0]);
    expect(gate.eventTypes.find((t) => t.type === 'day.ended')).toMatchObject({
      consumesRandomness: true,
      clientMaySupplySeed: false,
    });
  });

  it('reports a rules version the server does not run as not_found (404)', async () => {
    const error = await refusal(client('analyst').getGame('archive-gate', 9));
    expect([error.code, error.status]).toEqual(['not_found', 404]);
    expect(error.detail).toMatch(/archive-gate v9/);
  });
});

describe('AgateClient.game<typeof archiveGateV1>()', () => {
  it('appends typed events to a session of that game', async () => {
    const agate = client('game_server');
    const session = await agate.createSession({ rules: 'archive-gate', seed: 'typed' });
    const gate = agate.game<typeof archiveGateV1>();
    const events: NewEventOf<typeof archiveGateV1>[] = [
      { type: 'day.started', data: {} },
      { type: 'defense.purchased', data: { defense: 'mfa' } },
      { type: 'request.decided', version: 1, data: { requestId: 'd1-r1', approved: true } },
    ];
    const appended = await gate.append(session.id, events);
    expect(appended).toMatchObject({ firstSequence: 1, lastSequence: 3, duplicate: false });
    const stored = (await agate.readEvents(session.id).next()).value;
    expect(stored?.events.map((e) => `${e.type}@${e.version}`)).toEqual([
      'day.started@1',
      'defense.purchased@1',
      'request.decided@1',
    ]);
  });

  it('still gets the server’s refusal for a payload forced past the types', async () => {
    const agate = client('game_server');
    const session = await agate.createSession({ rules: 'archive-gate' });
    const forced = [{ type: 'defense.purchased', data: { defense: 'moat' } }] as unknown as [];
    const error = await refusal(agate.game<typeof archiveGateV1>().append(session.id, forced));
    expect([error.code, error.status]).toEqual(['invalid_event', 422]);
  });
});

describe('AgateClient snapshots and leaderboard', () => {
  it('lists a session’s snapshots and reads the verified leaderboard', async () => {
    const agate = client('game_server');
    const session = await agate.createSession({ rules: 'tiny', seed: 'coverage' });
    // note.written ends one of the tiny game's days: a snapshot follows it.
    await agate.append(session.id, [
      { type: 'counter.incremented', version: 1, data: { by: 4 } },
      { type: 'counter.incremented', version: 1, data: { by: 3 } },
      { type: 'note.written', data: { text: 'day' } },
    ]);
    await agate.endSession(session.id);
    await api.agate.idle();
    const snapshots = await client('analyst').snapshots(session.id);
    expect(snapshots).toContainEqual(
      expect.objectContaining({ sequence: 3, rulesVersion: 1, reason: 'day_boundary' }),
    );
    const board = await client('analyst').leaderboard({ rules: 'tiny', limit: 5 });
    expect(board.rules).toBe('tiny');
    expect(board.entries).toContainEqual(
      expect.objectContaining({ sessionId: session.id, score: 7 }),
    );
  });

  it('reports the API’s refusals with their codes', async () => {
    const missing = await refusal(
      client('analyst').snapshots('01938a6e-0000-7000-8000-00000000dead'),
    );
    expect([missing.code, missing.status]).toEqual(['session_not_found', 404]);
    const unnamed = await refusal(client('analyst').leaderboard());
    expect([unnamed.code, unnamed.status]).toEqual(['invalid_request', 400]);
    const tooMany = await refusal(client('analyst').leaderboard({ rules: 'tiny', limit: 0 }));
    expect(tooMany.code).toBe('invalid_request');
  });
});

describe('AgateClient players', () => {
  it('creates a player, exports it and erases it (admin), and the erasure is idempotent', async () => {
    const player = await client('game_server').createPlayer({ displayName: 'Ada', email: 'a@b.c' });
    const session = await client('game_server').createSession({
      rules: 'tiny',
      playerId: player.id,
    });
    const exported = await client('admin').exportPlayer(player.id);
    expect(exported.player).toMatchObject({ id: player.id, displayName: 'Ada', erasedAt: null });
    expect(exported.sessions.map((s) => s.id)).toEqual([session.id]);
    const erased = await client('admin').erasePlayer(player.id);
    expect(erased).toMatchObject({ id: player.id, sessions: 1, alreadyErased: false });
    const again = await client('admin').erasePlayer(player.id);
    expect(again).toMatchObject({ alreadyErased: true, erasedAt: erased.erasedAt });
    const after = await client('admin').exportPlayer(player.id);
    expect(after.player).toMatchObject({ displayName: null, email: null });
  });

  it('refuses a game server the admin calls with forbidden (403)', async () => {
    const player = await client('game_server').createPlayer();
    const error = await refusal(client('game_server').exportPlayer(player.id));
    expect([error.code, error.status]).toEqual(['forbidden', 403]);
    const erase = await refusal(client('analyst').erasePlayer(player.id));
    expect(erase.code).toBe('forbidden');
  });
});

describe('AgateClient keys, tenants and analytics', () => {
  it('creates an API key that works, revokes it (idempotently) and it stops working', async () => {
    const admin = client('admin');
    const created = await admin.createApiKey({ role: 'analyst', label: 'from the client' });
    expect(created).toMatchObject({ role: 'analyst', label: 'from the client' });
    const fresh = new AgateClient({ baseUrl, apiKey: created.key, backoffMs: 1 });
    expect((await fresh.games()).length).toBe(2);
    await admin.revokeApiKey(created.id);
    await admin.revokeApiKey(created.id);
    const error = await refusal(fresh.games());
    expect([error.code, error.status]).toEqual(['unauthorized', 401]);
    const missing = await refusal(admin.revokeApiKey('01938a6e-0000-7000-8000-00000000dead'));
    expect([missing.code, missing.status]).toEqual(['not_found', 404]);
  });

  it('creates a tenant with an operator key, and refuses a tenant key with forbidden', async () => {
    const operator = await api.newOperatorKey();
    const tenant = await new AgateClient({ baseUrl, apiKey: operator.key }).createTenant('made');
    expect(tenant).toMatchObject({
      name: 'made',
      placement: 'shared',
      adminKey: { role: 'admin' },
    });
    const nowhere = await refusal(
      new AgateClient({ baseUrl, apiKey: operator.key }).createTenant('lost', {
        placement: 'database:nowhere',
      }),
    );
    expect([nowhere.code, nowhere.status]).toEqual(['invalid_request', 400]);
    const error = await refusal(client('admin').createTenant('not mine'));
    expect([error.code, error.status]).toEqual(['forbidden', 403]);
  });

  it('reads analytics.events page by page until the range ends', async () => {
    const agate = client('game_server');
    const session = await agate.createSession({ rules: 'archive-gate', seed: 'analytics' });
    await agate.game<typeof archiveGateV1>().append(session.id, [
      { type: 'day.started', data: {} },
      { type: 'defense.purchased', data: { defense: 'training' } },
      { type: 'defense.purchased', data: { defense: 'mfa' } },
    ]);
    await api.agate.idle();
    const pages = [];
    for await (const page of client('analyst').analyticsEvents({
      session: session.id,
      types: ['defense.purchased', 'day.started'],
      pageSize: 2,
    })) {
      pages.push(page.events.map((e) => `${e.sequence}:${String(e.fields.defense ?? '-')}`));
    }
    expect(pages.flat()).toEqual(['1:-', '2:training', '3:mfa']);
    expect(pages[0]).toHaveLength(2);
    const error = await refusal(client('game_server').analyticsEvents().next());
    expect([error.code, error.status]).toEqual(['forbidden', 403]);
  });
});
