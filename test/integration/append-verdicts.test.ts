import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/api/index.js';
import { AgateClient, isAgateClientError } from '../../src/client/index.js';
import { createCacheHealth, writeHotState } from '../../src/cache/index.js';
import { withTenant } from '../../src/db/index.js';
import { createEventStore } from '../../src/events/index.js';
import type { AppendResult, EventStore, NewEvent } from '../../src/events/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createKey } from '../../src/keys/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createBatchJudge, createRecentStates } from '../../src/verdicts/index.js';
import type { StateSource } from '../../src/verdicts/index.js';
import { createTestRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { replayedVerdicts } from '../support/replayed-verdicts.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let agate: Agate;
let app: FastifyInstance;
let redis: TestRedis;
let tenantId: string;
let apiKey: string;

const started: NewEvent = { type: 'day.started', version: 1, data: {} };
const ended: NewEvent = { type: 'day.ended', version: 1, data: {} };
const decide = (requestId: string): NewEvent => ({
  type: 'request.decided',
  version: 2,
  data: { requestId, decision: 'approve' },
});
const withId = (event: NewEvent): NewEvent => ({ ...event, eventId: crypto.randomUUID() });

beforeAll(async () => {
  db = await createTestDatabase();
  redis = createTestRedis('verdicts');
  agate = createAgate({ pool: db.pool, games: defaultGames, consumers: false });
  app = createServer({ agate, logger: pino({ level: 'silent' }), rateLimit: null });
  await app.ready();
  tenantId = (await createTenant(db.pool, { name: 'verdicts', actor: 'test' })).id;
  apiKey = (await createKey(db.pool, { tenantId, role: 'game_server', actor: 'test' })).key;
});
afterAll(async () => {
  await app.close();
  await agate.close();
  await redis.close();
  await db.drop();
});

async function newSession(store: EventStore = agate.store, tenant = tenantId): Promise<string> {
  const session = await store.createSession({ tenantId: tenant, rules: 'archive-gate' });
  return session.id;
}

function accepted(result: AppendResult) {
  if (!result.ok) throw new Error(`append refused: ${result.message}`);
  return result;
}

/** The verdicts and hash an append answered equal those of a full replay from genesis. */
async function expectReplayAgrees(sessionId: string, result: AppendResult): Promise<void> {
  const ok = accepted(result);
  const replayed = await replayedVerdicts(agate.store, defaultGames, { tenantId, sessionId });
  expect(ok.verdicts).toEqual(replayed.verdicts.slice(ok.firstSequence - 1, ok.lastSequence));
  expect(ok.sequence).toBe(ok.lastSequence);
  expect(ok.stateHash).toBe(replayed.hashes[ok.lastSequence]);
}

/** Changes the log as a superuser with the append-only triggers off would. */
async function behindTheStore(sql: string, values: unknown[]): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    expect((await client.query(sql, values)).rowCount).toBe(1);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/** A store on the same database whose judge reports where each state came from. */
function observedStore(options: { recentStates?: number; withRedis?: boolean } = {}) {
  const sources: StateSource[] = [];
  const recent = createRecentStates(options.recentStates);
  const store = createEventStore({
    pool: db.pool,
    catalog: defaultGames.eventTypes,
    judge: createBatchJudge({
      pool: db.pool,
      games: defaultGames,
      recentStates: recent,
      redis: options.withRedis === true ? { client: redis.redis, health: redis.health } : null,
      onJudged: (source) => sources.push(source),
    }),
  });
  return { store, sources, recent };
}

describe('appends with verdicts through the library', () => {
  it('reports each verdict, stores the batch, and answers the state hash a replay gives', async () => {
    const sessionId = await newSession();
    const result = await agate.store.appendEvents({
      tenantId,
      sessionId,
      events: [started, started, decide('d1-r99'), decide('d1-r1')],
      verdicts: 'report',
    });
    expect(accepted(result).verdicts).toEqual([
      { accepted: true },
      { accepted: false, reason: 'day_already_open' },
      { accepted: false, reason: 'unknown_request' },
      { accepted: true },
    ]);
    const replayed = await agate.replay({ tenantId, sessionId });
    expect([replayed.sequence, replayed.stateHash]).toEqual([4, accepted(result).stateHash]);
    await expectReplayAgrees(sessionId, result);
  });

  it('stores nothing with refuse when an event is rejected, and returns the verdicts', async () => {
    const sessionId = await newSession();
    accepted(await agate.store.appendEvents({ tenantId, sessionId, events: [started] }));
    const result = await agate.store.appendEvents({
      tenantId,
      sessionId,
      events: [decide('d1-r1'), started],
      verdicts: 'refuse',
    });
    expect(result).toMatchObject({
      ok: false,
      reason: 'rules_rejected',
      currentSequence: 1,
      verdicts: [{ accepted: true }, { accepted: false, reason: 'day_already_open' }],
    });
    expect((await agate.store.getSession({ tenantId, sessionId })).lastSequence).toBe(1);
    const stored = await agate.store.appendEvents({
      tenantId,
      sessionId,
      events: [decide('d1-r1'), ended],
      verdicts: 'refuse',
    });
    expect(accepted(stored).verdicts).toEqual([{ accepted: true }, { accepted: true }]);
    await expectReplayAgrees(sessionId, stored);
  });

  it('answers a retry with the verdicts of the first time, after the session moved on', async () => {
    const sessionId = await newSession();
    const batch = [started, started, ended].map(withId);
    const first = accepted(
      await agate.store.appendEvents({ tenantId, sessionId, events: batch, verdicts: 'report' }),
    );
    accepted(await agate.store.appendEvents({ tenantId, sessionId, events: [started, ended] }));
    const retry = accepted(
      await agate.store.appendEvents({ tenantId, sessionId, events: batch, verdicts: 'refuse' }),
    );
    expect(retry.duplicate).toBe(true);
    expect(retry.verdicts).toEqual(first.verdicts);
    expect([retry.sequence, retry.stateHash]).toEqual([first.sequence, first.stateHash]);
    await expectReplayAgrees(sessionId, retry);
  });

  it('judges day.ended with the seed the server stores, so a replay agrees', async () => {
    const sessionId = await newSession();
    const days = [started, ended, started, decide('d2-r1'), decide('d2-r2'), ended];
    const result = await agate.store.appendEvents({
      tenantId,
      sessionId,
      events: days.map(withId),
      verdicts: 'report',
    });
    await expectReplayAgrees(sessionId, result);
  });

  it('keeps verdicts right when appends race on one session', async () => {
    const sessionId = await newSession();
    accepted(await agate.store.appendEvents({ tenantId, sessionId, events: [started] }));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        agate.store.appendEvents({
          tenantId,
          sessionId,
          events: [decide(`d1-r${(i % 3) + 1}`), i % 2 === 0 ? started : decide('d1-r9')],
          verdicts: 'report',
        }),
      ),
    );
    for (const result of results) await expectReplayAgrees(sessionId, result);
    expect((await agate.store.getSession({ tenantId, sessionId })).lastSequence).toBe(17);
  });

  it('judges again when a writer in another process got in first', async () => {
    const sessionId = await newSession();
    const stores = [agate.store, observedStore().store, observedStore().store];
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        (stores[i % 3] ?? agate.store).appendEvents({
          tenantId,
          sessionId,
          events: [i % 2 === 0 ? started : ended],
          verdicts: 'report',
        }),
      ),
    );
    for (const result of results) await expectReplayAgrees(sessionId, result);
  });

  it('refuses a wrong expectedSequence as without verdicts', async () => {
    const sessionId = await newSession();
    accepted(await agate.store.appendEvents({ tenantId, sessionId, events: [started] }));
    const result = await agate.store.appendEvents({
      tenantId,
      sessionId,
      expectedSequence: 0,
      events: [ended],
      verdicts: 'report',
    });
    expect(result).toMatchObject({ ok: false, reason: 'sequence_conflict', currentSequence: 1 });
    const right = await agate.store.appendEvents({
      tenantId,
      sessionId,
      expectedSequence: 1,
      events: [ended],
      verdicts: 'report',
    });
    await expectReplayAgrees(sessionId, right);
  });

  it('refuses verdicts inside a caller transaction and an unknown mode', async () => {
    const sessionId = await newSession();
    await expect(
      withTenant(db.pool, { tenantId }, (tx) =>
        agate.store.appendEventsInTransaction(tx, {
          tenantId,
          sessionId,
          events: [started],
          verdicts: 'report',
        }),
      ),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      agate.store.appendEvents({
        tenantId,
        sessionId,
        events: [started],
        verdicts: 'maybe' as 'report',
      }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    const plain = accepted(
      await agate.store.appendEvents({ tenantId, sessionId, events: [started] }),
    );
    expect(plain).not.toHaveProperty('verdicts');
  });
});

describe('where the state before the batch comes from', () => {
  it('uses its recent state, and brings a stale one forward from the database', async () => {
    const { store, sources } = observedStore();
    const sessionId = await newSession(store);
    await store.appendEvents({ tenantId, sessionId, events: [started], verdicts: 'report' });
    await store.appendEvents({ tenantId, sessionId, events: [started], verdicts: 'report' });
    // Another writer (without verdicts) moves the session on: the recent state is stale.
    accepted(await agate.store.appendEvents({ tenantId, sessionId, events: [ended, started] }));
    const result = await store.appendEvents({
      tenantId,
      sessionId,
      events: [started, decide('d2-r1')],
      verdicts: 'report',
    });
    expect(sources).toEqual(['snapshot', 'recent', 'recent']);
    expect(accepted(result).verdicts?.[0]).toEqual({ accepted: false, reason: 'day_already_open' });
    await expectReplayAgrees(sessionId, result);
  });

  it('never trusts a recent state whose chain hash does not match the log', async () => {
    const { store, sources, recent } = observedStore();
    const sessionId = await newSession(store);
    await store.appendEvents({ tenantId, sessionId, events: [started], verdicts: 'report' });
    const kept = recent.get(tenantId, sessionId);
    // Same sequence, wrong state and chain hash: as if the log had been edited behind its back.
    recent.set(tenantId, sessionId, {
      sequence: kept?.sequence ?? 1,
      chainHash: '00'.repeat(32),
      state: { forged: true },
    });
    const atHead = await store.appendEvents({
      tenantId,
      sessionId,
      events: [started],
      verdicts: 'report',
    });
    await expectReplayAgrees(sessionId, atHead);
    recent.delete(tenantId, sessionId);
    recent.set(tenantId, sessionId, { sequence: 1, chainHash: '00'.repeat(32), state: {} });
    const behind = await store.appendEvents({
      tenantId,
      sessionId,
      events: [ended],
      verdicts: 'report',
    });
    await expectReplayAgrees(sessionId, behind);
    expect(sources).toEqual(['snapshot', 'snapshot', 'snapshot']);
  });

  it('judges nothing on a log edited behind the store: the chain stops the fold', async () => {
    const { store, sources } = observedStore();
    const sessionId = await newSession(store);
    await store.appendEvents({ tenantId, sessionId, events: [started], verdicts: 'report' });
    accepted(await agate.store.appendEvents({ tenantId, sessionId, events: [ended, started] }));
    await behindTheStore(
      `UPDATE game.events SET event_data = '{"seed": "forged"}' WHERE session_id = $1 AND sequence = 2`,
      [sessionId],
    );
    await expect(
      store.appendEvents({ tenantId, sessionId, events: [ended], verdicts: 'report' }),
    ).rejects.toMatchObject({ code: 'integrity_violation', details: { sequence: 2 } });
    expect(sources).toEqual(['snapshot']);
    expect((await agate.store.getSession({ tenantId, sessionId })).lastSequence).toBe(3);
  });

  it('never uses one tenant’s recent state for another tenant', async () => {
    const { store, recent } = observedStore();
    const sessionId = await newSession(store);
    await store.appendEvents({ tenantId, sessionId, events: [started], verdicts: 'report' });
    const other = (await createTenant(db.pool, { name: 'other', actor: 'test' })).id;
    expect(recent.get(other, sessionId)).toBeUndefined();
    const foreign = await store.appendEvents({
      tenantId: other,
      sessionId,
      events: [started],
      verdicts: 'report',
    });
    expect(foreign).toMatchObject({ ok: false, reason: 'session_not_found' });
  });

  it('starts from the Redis hot state when it holds no recent state, and folds its tail', async () => {
    const { store, sources } = observedStore({ recentStates: 0, withRedis: true });
    const sessionId = await newSession(store);
    accepted(await store.appendEvents({ tenantId, sessionId, events: [started, ended] }));
    const atTwo = await agate.replay({ tenantId, sessionId });
    const health = createCacheHealth();
    await writeHotState(redis.redis, health, {
      tenantId,
      sessionId,
      sequence: 2,
      stateHash: atTwo.stateHash,
      state: atTwo.state,
    });
    const atHead = await store.appendEvents({
      tenantId,
      sessionId,
      events: [started],
      verdicts: 'report',
    });
    await expectReplayAgrees(sessionId, atHead);
    // The hot state is now one behind the session: brought forward, never trusted past 2.
    const behind = await store.appendEvents({
      tenantId,
      sessionId,
      events: [started, decide('d2-r1')],
      verdicts: 'report',
    });
    await expectReplayAgrees(sessionId, behind);
    expect(sources).toEqual(['hot', 'hot']);
  });
});

describe('appends with verdicts over HTTP', () => {
  const post = (sessionId: string, body: unknown) =>
    app.inject({
      method: 'POST',
      url: `/v1/sessions/${sessionId}/events`,
      headers: { authorization: `Bearer ${apiKey}` },
      payload: body as Record<string, unknown>,
    });

  it('answers 201 with the verdicts, the sequence and the state hash', async () => {
    const sessionId = await newSession();
    const reply = await post(sessionId, { events: [started, started], verdicts: 'report' });
    expect(reply.statusCode).toBe(201);
    const body = reply.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      firstSequence: 1,
      lastSequence: 2,
      sequence: 2,
      verdicts: [{ accepted: true }, { accepted: false, reason: 'day_already_open' }],
    });
    expect(body.stateHash).toBe((await agate.replay({ tenantId, sessionId })).stateHash);
  });

  it('answers 409 rules_rejected with the verdicts and stores nothing', async () => {
    const sessionId = await newSession();
    const reply = await post(sessionId, { events: [decide('d1-r1')], verdicts: 'refuse' });
    expect(reply.statusCode).toBe(409);
    expect(reply.json()).toMatchObject({
      code: 'rules_rejected',
      currentSequence: 0,
      verdicts: [{ accepted: false, reason: 'no_open_day' }],
    });
    expect((await agate.store.getSession({ tenantId, sessionId })).lastSequence).toBe(0);
  });

  it('answers a retry 200 with the same verdicts, and a plain append without them', async () => {
    const sessionId = await newSession();
    const events = [started, started].map(withId);
    const first = await post(sessionId, { events, verdicts: 'report' });
    const retry = await post(sessionId, { events, verdicts: 'report' });
    expect([first.statusCode, retry.statusCode]).toEqual([201, 200]);
    expect(retry.json()).toEqual(first.json());
    const plain = await post(sessionId, { events: [ended] });
    expect(plain.statusCode).toBe(201);
    expect(plain.json()).not.toHaveProperty('verdicts');
    const bad = await post(sessionId, { events: [ended], verdicts: 'always' });
    expect(bad.statusCode).toBe(400);
  });
});

describe('appends with verdicts through the typed client', () => {
  it('gets the verdicts, and a rules_rejected error carrying them', async () => {
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const client = new AgateClient({ baseUrl, apiKey, backoffMs: 1 });
    const { id } = await client.createSession({ rules: 'archive-gate' });
    const dayStarted = { type: 'day.started', data: {} };
    const stored = await client.append(id, [dayStarted, dayStarted], { verdicts: 'report' });
    expect(stored).toMatchObject({
      duplicate: false,
      sequence: 2,
      verdicts: [{ accepted: true }, { accepted: false, reason: 'day_already_open' }],
    });
    expect(stored.stateHash).toBe((await agate.replay({ tenantId, sessionId: id })).stateHash);
    const refused = await client.append(id, [dayStarted], { verdicts: 'refuse' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isAgateClientError(refused, 'rules_rejected')).toBe(true);
    if (!isAgateClientError(refused)) throw new Error('no client error');
    expect([refused.status, refused.currentSequence]).toEqual([409, 2]);
    expect(refused.verdicts).toEqual([{ accepted: false, reason: 'day_already_open' }]);
  });
});
