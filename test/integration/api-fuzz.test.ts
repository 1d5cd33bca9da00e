import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, databaseFingerprint, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { errorCodes } from '../../src/errors/index.js';

// Every route, fed arbitrary ids, queries and bodies with a key that may call it: the answer is
// never a 5xx, a refusal is always problem+json with a string `code`, and a refused request
// leaves the database as it was. The seed is the global fixed one (test/support/fast-check-setup).

let api: ApiFixture;
let server: TestKey;
let analyst: TestKey;
let admin: TestKey;
let operator: { id: string; key: string };
let live: string;
let ended: string;

beforeAll(async () => {
  // No consumers in process: POST /v1/tenants makes hundreds of tenants, and four consumers
  // polling each of them would slow every later property past its timeout; what is fuzzed here
  // is the handling of input, and derived data writing meanwhile would blur the fingerprints.
  api = await createApiFixture({ consumers: false });
  const tenantId = await api.newTenant('fuzz tenant');
  server = await api.newKey(tenantId, 'game_server');
  analyst = await api.newKey(tenantId, 'analyst');
  admin = await api.newKey(tenantId, 'admin');
  operator = await api.newOperatorKey();
  live = await newSession([inc(1), inc(2)]);
  ended = await newSession([inc(3)]);
  await api.call('POST', `/v1/sessions/${ended}/end`, { key: server.key });
});
afterAll(() => api.close());

const numRuns = 1000;

async function newSession(events = [inc(1)]): Promise<string> {
  const created = await api.call('POST', '/v1/sessions', { key: server.key, body: {} });
  const id = created.json.id as string;
  if (events.length > 0) {
    await api.call('POST', `/v1/sessions/${id}/events`, { key: server.key, body: { events } });
  }
  return id;
}

// --- what is sent -------------------------------------------------------------------------

/** A path or query component, percent-encoded (a lone surrogate is sent as U+FFFD). */
function encode(text: string): string {
  return encodeURIComponent(text.replace(/\p{Surrogate}/gu, '\ufffd'));
}

const oddStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '-1',
  '0',
  '1',
  '1.5',
  '1e3',
  '0x10',
  'NaN',
  'Infinity',
  '9007199254740993',
  '999999999999999',
  '1000000000000000',
  ' 1',
  'true',
  'null',
  '__proto__',
  'constructor',
  'genesis',
  'snapshot',
  'state',
);

const text = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  oddStrings,
  fc.integer().map(String),
);

const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
);

/** Which session a path names: the live one, an ended one, a stranger's, or not a session at all. */
type IdChoice = { kind: 'live' | 'ended' | 'fresh' | 'upper' } | { kind: 'raw'; value: string };

const idChoice: fc.Arbitrary<IdChoice> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<IdChoice>({ kind: 'live' }) },
  { weight: 1, arbitrary: fc.constant<IdChoice>({ kind: 'ended' }) },
  { weight: 1, arbitrary: fc.constant<IdChoice>({ kind: 'upper' }) },
  { weight: 1, arbitrary: fc.uuid().map((value): IdChoice => ({ kind: 'raw', value })) },
  { weight: 1, arbitrary: text.map((value): IdChoice => ({ kind: 'raw', value: encode(value) })) },
  {
    weight: 1,
    arbitrary: fc
      // Malformed percent-encodings ('%', '%zz') are a known finding, kept out (see below).
      .constantFrom('%00', '..', '%2F', 'a%2Fb', '%20', '%C3%A9', '%EF%BF%BD')
      .map((value): IdChoice => ({ kind: 'raw', value })),
  },
);

async function idOf(choice: IdChoice, activeId: () => Promise<string>): Promise<string> {
  switch (choice.kind) {
    case 'live':
      return activeId();
    case 'upper':
      return (await activeId()).toUpperCase();
    case 'ended':
      return ended;
    case 'fresh':
      return newSession([]);
    case 'raw':
      return choice.value;
  }
}

function queryArb(keys: readonly string[], values: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, text);
  const pair = fc.tuple(key, fc.oneof(values, text)).map(([k, v]) => `${encode(k)}=${encode(v)}`);
  const raw = fc.constantFrom('%', 'after=%zz', 'to', '&&', '=1', 'limit=1&limit=2', 'a[b]=1');
  return fc
    .array(fc.oneof({ weight: 6, arbitrary: pair }, raw), { maxLength: 4 })
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.join('&')}`));
}

type Body = { payload?: string; contentType?: string };

function bodyArb(shaped: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const json = (value: unknown): Body => ({
    payload: JSON.stringify(value),
    contentType: 'application/json',
  });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<Body>({}) },
    { weight: 3, arbitrary: anyJson.map(json) },
    { weight: 6, arbitrary: shaped.map(json) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.string({ maxLength: 24 }), fc.constantFrom('', '{', '{"events":', '[]', 'null'))
        .map((payload): Body => ({ payload, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        payload: fc.string({ maxLength: 24 }),
        contentType: fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          'application/problem+json',
          'application/octet-stream',
        ),
      }),
    },
  );
}

/** Mostly a plausible value, sometimes anything: so that some requests get past validation. */
function mostly<T>(
  plausible: fc.Arbitrary<T>,
  wild: fc.Arbitrary<unknown> = fc.oneof(text, anyJson),
) {
  return fc.oneof({ weight: 12, arbitrary: plausible }, { weight: 1, arbitrary: wild });
}

/** Adds an unexpected key now and then (the bodies are strict objects). */
function withJunk(shape: fc.Arbitrary<Record<string, unknown>>, weight = 8) {
  return fc
    .tuple(shape, fc.oneof({ weight, arbitrary: fc.constant(null) }, fc.tuple(text, anyJson)))
    .map(([body, junk]) => (junk === null ? body : { ...body, [junk[0]]: junk[1] }));
}

const plainText = fc.string({ maxLength: 12 });
const clientTime = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
  },
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  // Year 0000 is a known finding (a 500), kept out of the generator: see below.
  fc.constantFrom('2026-11-23T12:00:00', '2026-02-30T00:00:00Z', '0001-01-01T00:00:00Z'),
);

const plausibleEvent = fc.oneof(
  fc.record({
    type: fc.constant('counter.incremented'),
    version: fc.constant(1),
    data: fc.record({ by: fc.integer() }),
  }),
  fc.record({
    type: fc.constant('counter.incremented'),
    version: fc.constant(2),
    data: fc.record({ by: fc.integer(), note: mostly(plainText) }),
  }),
  fc.record({
    type: fc.constant('dice.rolled'),
    data: fc.record({
      sides: mostly(fc.integer({ min: 2, max: 100 }), fc.integer()),
      seed: mostly(fc.string({ minLength: 1, maxLength: 8 })),
    }),
  }),
  fc.record({
    type: fc.constant('note.written'),
    data: fc.record({ text: mostly(plainText), extra: anyJson }, { requiredKeys: ['text'] }),
  }),
  fc.record({
    type: fc.constant('session.ended'),
    data: fc.record({ reason: text }, { requiredKeys: [] }),
  }),
);

const eventArb = fc
  .tuple(
    plausibleEvent,
    fc.record(
      {
        eventId: mostly(fc.uuid({ version: 7 }), fc.oneof(fc.uuid(), text, anyJson)),
        clientTime: mostly(clientTime),
      },
      { requiredKeys: [] },
    ),
    fc.record(
      { type: fc.oneof(text, anyJson), version: anyJson, data: anyJson },
      { requiredKeys: [] },
    ),
    fc.nat({ max: 5 }).map((n) => n === 0),
  )
  .map(([event, extra, wild, keepWild]) => ({ ...event, ...extra, ...(keepWild ? wild : {}) }));

const sequenceLike = mostly(
  fc.nat({ max: 10 }),
  fc.oneof(fc.constantFrom(-1, 1.5, 2 ** 53, 2 ** 53 + 2, 1e308, -0), anyJson),
);

const appendShape = withJunk(
  fc.record(
    {
      expectedSequence: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, sequenceLike),
      events: mostly(fc.array(eventArb, { minLength: 1, maxLength: 3 }), anyJson),
    },
    { requiredKeys: ['events'] },
  ),
);

const createShape = withJunk(
  fc.record(
    {
      playerId: fc.oneof(fc.uuid(), text, anyJson),
      seed: mostly(fc.string({ maxLength: 300 })),
      rules: mostly(fc.constantFrom('tiny', 'TINY', 'reference')),
      config: mostly(fc.dictionary(text, anyJson, { maxKeys: 3 })),
    },
    { requiredKeys: [] },
  ),
);

const endShape = withJunk(
  fc.record(
    {
      reason: mostly(fc.oneof(text, fc.string({ minLength: 490, maxLength: 520 }))),
      eventId: mostly(fc.uuid({ version: 7 }), fc.oneof(fc.uuid(), text, anyJson)),
      expectedSequence: sequenceLike,
    },
    { requiredKeys: [] },
  ),
);

// --- what must hold -----------------------------------------------------------------------

type Sent = { method: 'GET' | 'POST' | 'DELETE'; url: string; key: string; body?: Body };
type Answer = { status: number; json: Record<string, unknown> };
type Raw = { statusCode: number; body: string; headers: Record<string, unknown> };

/** Where requests go: Fastify's inject, or a real socket when `network` names a listening URL. */
let network: string | undefined;

async function transport(request: Sent, headers: Record<string, string>): Promise<Raw> {
  const payload = request.body?.payload;
  if (network === undefined) {
    return api.app.inject({
      method: request.method,
      url: request.url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    });
  }
  const response = await fetch(`${network}${request.url}`, {
    method: request.method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
  });
  return {
    statusCode: response.status,
    body: await response.text(),
    headers: { 'content-type': response.headers.get('content-type') ?? undefined },
  };
}

async function send(request: Sent): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${request.key}` };
  if (request.body?.contentType !== undefined) headers['content-type'] = request.body.contentType;
  const raw = await transport(request, headers);
  const where = `${request.method} ${request.url.slice(0, 200)} → ${raw.statusCode} ${raw.body.slice(0, 300)}`;
  expect(raw.statusCode, where).toBeLessThan(500);
  if (raw.statusCode < 400) {
    const contentType = raw.headers['content-type'];
    const isJson = typeof contentType === 'string' && contentType.includes('json');
    const json = raw.body === '' || !isJson ? {} : (JSON.parse(raw.body) as never);
    return { status: raw.statusCode, json };
  }
  expect(raw.headers['content-type'], where).toMatch(/^application\/problem\+json/);
  const json = JSON.parse(raw.body) as Record<string, unknown>;
  expect(typeof json.code, where).toBe('string');
  expect(json.status, where).toBe(raw.statusCode);
  return { status: raw.statusCode, json };
}

/** Sends, and checks that a refusal changed nothing; returns the answer and what changed. */
async function sendChecked(request: Sent): Promise<{ answer: Answer; before: Fp; after: Fp }> {
  const before = await fingerprint();
  const answer = await send(request);
  const after = await fingerprint();
  if (answer.status >= 400) {
    expect(after, `${request.method} ${request.url} was refused`).toEqual(before);
  } else liveMayHaveEnded = true;
  return { answer, before, after };
}

type Fp = { sessions: number; events: number; sequences: number; ended: number; audit: number };

async function fingerprint(): Promise<Fp> {
  const row = await databaseFingerprint(api.db);
  // An operator key's use is audited before the route runs, refused or not (ADR 0014): that
  // entry is the one write a refusal makes.
  const uses = await api.db.pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM admin.audit_log WHERE action = 'operator_key.used'",
  );
  return {
    sessions: Number(row.sessions),
    events: Number(row.events),
    sequences: Number(row.sequences),
    ended: Number(row.ended),
    audit: Number(row.audit) - Number(uses.rows[0]?.n),
  };
}

/** Set after a write was accepted: it may have ended the live session. */
let liveMayHaveEnded = false;

/** The live session, replaced by a new one once a fuzzed request has ended it. */
async function activeSession(): Promise<string> {
  if (!liveMayHaveEnded) return live;
  liveMayHaveEnded = false;
  const session = await api.call('GET', `/v1/sessions/${live}`, { key: server.key });
  if (session.json.status !== 'active') live = await newSession();
  return live;
}

// --- POST /v1/appends ---------------------------------------------------------------------

/**
 * The sessions an appends body names, as placeholders filled in when it is sent: `@pool:i` (or
 * `@POOL:i`, upper case) is slot i of a small pool of active sessions, so that two entries often
 * name the same one; `@ended` the ended session; `@good` a session of its own whose entry is always
 * valid, to see that a good session is stored beside bad ones.
 */
const poolSize = 8;
const manySessionId = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: poolSize - 1 }).map((i) => `@pool:${i}`) },
  { weight: 1, arbitrary: fc.nat({ max: poolSize - 1 }).map((i) => `@POOL:${i}`) },
  { weight: 1, arbitrary: fc.constant('@ended') },
  { weight: 1, arbitrary: fc.uuid() },
  {
    weight: 2,
    arbitrary: fc.oneof(
      text,
      fc.constantFrom('not-a-uuid', '{00000000-0000-7000-8000-000000000000}', 'x'.repeat(101)),
    ),
  },
  { weight: 1, arbitrary: anyJson },
);

const manyEntry = withJunk(
  fc.record(
    {
      sessionId: manySessionId,
      events: mostly(fc.array(eventArb, { minLength: 1, maxLength: 3 }), anyJson),
      expectedSequence: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, sequenceLike),
    },
    { requiredKeys: ['sessionId', 'events'] },
  ),
  // Rarer than elsewhere: one odd key refuses the whole request, and some should get through.
  30,
);

const goodEntry = { sessionId: '@good', events: [inc(1)] };

const manySessions = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.array(manyEntry, { minLength: 1, maxLength: 4 }), fc.nat({ max: 5 }))
      // Half the time the always-valid entry goes in somewhere.
      .map(([entries, at]) =>
        at > 4 ? entries : [...entries.slice(0, at), goodEntry, ...entries.slice(at)],
      ),
  },
  { weight: 1, arbitrary: fc.constant([]) },
  {
    // Over the limit of 64: unknown sessions' valid batches, now and then one fuzzed entry.
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.uniqueArray(fc.uuid(), { minLength: 65, maxLength: 68 }),
        fc.option(manyEntry, { freq: 2 }),
      )
      .map(([ids, odd]) => {
        const entries: unknown[] = ids.map((sessionId) => ({ sessionId, events: [inc(1)] }));
        return odd === null ? entries : [odd, ...entries.slice(1)];
      }),
  },
);

const appendManyShape = withJunk(
  fc.record({ sessions: mostly(manySessions, anyJson) }, { requiredKeys: [] }),
);

/** Events stored per session of the fuzz tenant (by lower-case id). */
async function eventsPerSession(tenantId: string): Promise<Map<string, number>> {
  const { rows } = await api.db.pool.query<{ session_id: string; n: string }>(
    'SELECT session_id, count(*) AS n FROM game.events WHERE tenant_id = $1 GROUP BY session_id',
    [tenantId],
  );
  return new Map(rows.map((r) => [r.session_id, Number(r.n)]));
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Entry = { sessionId?: unknown };

/** Checks what a POST /v1/appends did against what it was sent; returns the answer. */
async function sendAppends(tenantId: string, body: Body): Promise<Answer> {
  const before = await eventsPerSession(tenantId);
  const { answer } = await sendChecked({
    method: 'POST',
    url: '/v1/appends',
    key: server.key,
    body,
  });
  const after = await eventsPerSession(tenantId);
  const where = `POST /v1/appends ${String(body.payload).slice(0, 300)} → ${answer.status} ${JSON.stringify(answer.json).slice(0, 300)}`;
  if (answer.status >= 400) {
    expect(errorCodes, where).toContain(answer.json.code);
    expect(total(after), where).toBe(total(before));
    return answer;
  }
  expect(answer.status, where).toBe(200);
  const sessions = (JSON.parse(String(body.payload)) as { sessions: Entry[] }).sessions;
  const results = answer.json.results as Record<string, unknown>[];
  expect(results.length, where).toBe(sessions.length);
  expect(sessions.length, where).toBeGreaterThan(0);
  expect(sessions.length, where).toBeLessThanOrEqual(64);
  // A UUID names its session in any case; any other text is compared as it is.
  const ids = sessions
    .map((s) => String(s.sessionId))
    .map((id) => (uuidPattern.test(id) ? id.toLowerCase() : id));
  expect(new Set(ids).size, `${where}: a session named twice was accepted`).toBe(ids.length);
  let stored = 0;
  results.forEach((result, i) => {
    const id = ids[i] ?? '';
    expect(result.sessionId, where).toBe(id);
    const grew = (after.get(id) ?? 0) - (before.get(id) ?? 0);
    if (result.ok === true && result.duplicate === false) {
      const count = (result.lastSequence as number) - (result.firstSequence as number) + 1;
      expect((result.events as unknown[]).length, where).toBe(count);
      expect(grew, `${where}: sessions[${i}] stored`).toBe(count);
      stored += count;
    } else {
      expect(grew, `${where}: sessions[${i}] not stored`).toBe(0);
      if (result.ok === false) expect(errorCodes, where).toContain(result.code);
    }
    if (result.ok === false && !uuidPattern.test(id)) {
      expect(result.code, where).toBe('session_not_found');
    }
  });
  expect(total(after) - total(before), where).toBe(stored);
  return answer;
}

describe('fuzzing every route with a key that may call it', () => {
  it('POST /v1/sessions', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb(createShape), queryArb(['rules'], text), async (body, query) => {
        const { answer, before, after } = await sendChecked({
          method: 'POST',
          url: `/v1/sessions${query}`,
          key: server.key,
          body,
        });
        if (answer.status === 201) {
          expect(after.sessions).toBe(before.sessions + 1);
          expect(answer.json.lastSequence).toBe(0);
        }
      }),
      { numRuns },
    );
  });

  it('POST /v1/sessions/:id/events', async () => {
    await fc.assert(
      fc.asyncProperty(idChoice, bodyArb(appendShape), async (choice, body) => {
        const id = await idOf(choice, activeSession);
        const { answer, before, after } = await sendChecked({
          method: 'POST',
          url: `/v1/sessions/${id}/events`,
          key: server.key,
          body,
        });
        if (answer.status === 201) {
          const count =
            (answer.json.lastSequence as number) - (answer.json.firstSequence as number);
          expect(after.events).toBe(before.events + count + 1);
        }
        if (answer.status === 200) expect(after).toEqual(before);
      }),
      { numRuns },
    );
  });

  it('POST /v1/sessions/:id/end', async () => {
    const choice = fc.oneof(
      { weight: 3, arbitrary: fc.constant<IdChoice>({ kind: 'fresh' }) },
      { weight: 3, arbitrary: idChoice },
    );
    await fc.assert(
      fc.asyncProperty(choice, bodyArb(endShape), async (idPick, body) => {
        const id = await idOf(idPick, activeSession);
        const { answer, before, after } = await sendChecked({
          method: 'POST',
          url: `/v1/sessions/${id}/end`,
          key: server.key,
          body,
        });
        if (answer.status === 201) expect(after.ended).toBe(before.ended + 1);
      }),
      { numRuns },
    );
  });

  it('POST /v1/appends', async () => {
    const tenantId = server.tenantId;
    const pool = await Promise.all(Array.from({ length: poolSize }, () => newSession([])));
    const good = await newSession([]);
    const fill = (payload: string) =>
      payload
        .replace(/"@pool:(\d)"/g, (_m, i: string) => `"${pool[Number(i)]}"`)
        .replace(/"@POOL:(\d)"/g, (_m, i: string) => `"${pool[Number(i)]?.toUpperCase()}"`)
        .replaceAll('"@ended"', `"${ended}"`)
        .replaceAll('"@good"', `"${good}"`);
    await fc.assert(
      fc.asyncProperty(bodyArb(appendManyShape), async (shaped) => {
        const body =
          shaped.payload === undefined ? shaped : { ...shaped, payload: fill(shaped.payload) };
        const answer = await sendAppends(tenantId, body);
        let sent: unknown;
        try {
          sent = JSON.parse(String(body.payload));
        } catch {
          sent = undefined;
        }
        const sessions = (sent as { sessions?: unknown } | null)?.sessions;
        if (Array.isArray(sessions) && sessions.length === 0) {
          expect(answer).toMatchObject({ status: 400, json: { code: 'invalid_request' } });
        }
        if (Array.isArray(sessions) && sessions.length > 64) {
          expect([400, 413]).toContain(answer.status);
          if (answer.status === 413) expect(answer.json.code).toBe('batch_too_large');
        }
        if (answer.status !== 200) return;
        const results = answer.json.results as Record<string, unknown>[];
        const mine = results.find((r) => r.sessionId === good);
        if (mine !== undefined) expect(mine).toMatchObject({ ok: true, duplicate: false });
        // A fuzzed batch may have ended a pool session: a fresh one takes its slot.
        const { rows } = await api.db.pool.query<{ id: string }>(
          "SELECT id FROM game.sessions WHERE id = ANY($1) AND status <> 'active'",
          [pool],
        );
        for (const { id } of rows) pool[pool.indexOf(id)] = await newSession([]);
      }),
      { numRuns },
    );
  });

  const reads = [
    ['GET /v1/sessions/:id', '', 'server', ['after'], sequenceText()],
    ['GET /v1/sessions/:id/state', '/state', 'server', ['sequence'], sequenceText()],
    ['GET /v1/sessions/:id/events', '/events', 'server', ['after', 'limit'], sequenceText()],
    ['GET /v1/sessions/:id/snapshots', '/snapshots', 'analyst', ['to'], sequenceText()],
    [
      'GET /v1/sessions/:id/replay',
      '/replay',
      'analyst',
      ['to', 'from', 'verify', 'trace'],
      replayText(),
    ],
  ] as const;

  for (const [name, suffix, who, keys, values] of reads) {
    it(name, async () => {
      const key = (who === 'server' ? server : analyst).key;
      await activeSession();
      const before = await fingerprint();
      let served = 0;
      await fc.assert(
        fc.asyncProperty(idChoice, queryArb(keys, values), async (choice, query) => {
          const id = await idOf(choice, activeSession);
          const url = `/v1/sessions/${id}${suffix}${query}`;
          const answer = await send({ method: 'GET', url, key });
          if (answer.status === 200) served += 1;
        }),
        { numRuns },
      );
      // A replay that is served is audited; nothing else is ever written by a read.
      const audited = suffix === '/replay' ? served : 0;
      expect(await fingerprint()).toEqual({ ...before, audit: before.audit + audited });
    });
  }
});

describe('fuzzing the leaderboard and the admin routes', () => {
  it('GET /v1/leaderboard', async () => {
    // A tenant of its own with one ended session: without Redis each read replays the board.
    const tenantId = await api.newTenant('fuzz board');
    const reader = await api.newKey(tenantId, 'analyst');
    const session = await api.agate.store.createSession({ tenantId, rules: 'tiny' });
    await api.agate.store.appendEvents({ tenantId, sessionId: session.id, events: [inc(5)] });
    await api.agate.store.endSession({ tenantId, sessionId: session.id });
    const before = await fingerprint();
    const limits = fc.oneof(sequenceText(), fc.constantFrom('1', '1000', '1001', '-1', 'ten'));
    await fc.assert(
      fc.asyncProperty(queryArb(['limit', 'rules'], limits), async (query) => {
        const answer = await send({
          method: 'GET',
          url: `/v1/leaderboard${query}`,
          key: reader.key,
        });
        if (answer.status === 200) expect(answer.json.entries).toBeInstanceOf(Array);
      }),
      { numRuns },
    );
    expect(await fingerprint()).toEqual(before);
  });

  const keyShape = withJunk(
    fc.record(
      {
        role: mostly(fc.constantFrom('game_server', 'analyst', 'admin', 'root', 'ADMIN')),
        label: mostly(fc.oneof(plainText, fc.string({ minLength: 190, maxLength: 210 }))),
      },
      { requiredKeys: [] },
    ),
  );

  it('POST /v1/api-keys', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb(keyShape), async (body) => {
        const { answer } = await sendChecked({
          method: 'POST',
          url: '/v1/api-keys',
          key: admin.key,
          body,
        });
        if (answer.status === 201) expect(answer.json.key).toMatch(/^agk_/);
      }),
      { numRuns },
    );
  });

  it('DELETE /v1/api-keys/:id', async () => {
    const ids = fc.oneof(
      { weight: 1, arbitrary: fc.constant('fresh') },
      { weight: 1, arbitrary: fc.constant(admin.id) },
      { weight: 4, arbitrary: idChoice.map((c) => (c.kind === 'raw' ? c.value : 'fresh')) },
    );
    await fc.assert(
      fc.asyncProperty(ids, async (pick) => {
        const id = pick === 'fresh' ? (await api.newKey(admin.tenantId, 'analyst')).id : pick;
        // Never revoke the key the property runs with.
        if (id === admin.id) return;
        await sendChecked({ method: 'DELETE', url: `/v1/api-keys/${id}`, key: admin.key });
      }),
      { numRuns },
    );
  });

  it('POST /v1/tenants', async () => {
    const shape = withJunk(
      fc.record(
        { name: mostly(fc.oneof(plainText, fc.string({ minLength: 195, maxLength: 205 }))) },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(bodyArb(shape), async (body) => {
        const { answer } = await sendChecked({
          method: 'POST',
          url: '/v1/tenants',
          key: operator.key,
          body,
        });
        if (answer.status === 201) {
          expect((answer.json.adminKey as { key: string }).key).toMatch(/^agk_/);
        }
      }),
      { numRuns },
    );
  });
});

describe('fuzzing the player routes', () => {
  const playerShape = withJunk(
    fc.record(
      {
        externalRef: mostly(fc.oneof(plainText, fc.string({ minLength: 195, maxLength: 205 }))),
        displayName: mostly(plainText),
        email: mostly(
          fc.oneof(fc.emailAddress(), plainText, fc.constantFrom('a@b', '@x.org', 'a@b.c')),
        ),
      },
      { requiredKeys: [] },
    ),
  );

  it('POST /v1/players', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb(playerShape), async (body) => {
        const { answer } = await sendChecked({
          method: 'POST',
          url: '/v1/players',
          key: server.key,
          body,
        });
        if (answer.status === 201) expect(Object.keys(answer.json)).toEqual(['id']);
      }),
      { numRuns },
    );
  });

  /** A player of this tenant, or an id that is none. */
  const playerId = fc.oneof(
    { weight: 2, arbitrary: fc.constant('fresh') },
    { weight: 4, arbitrary: idChoice.map((c) => (c.kind === 'raw' ? c.value : 'fresh')) },
  );
  async function resolve(pick: string): Promise<string> {
    if (pick !== 'fresh') return pick;
    const created = await api.call('POST', '/v1/players', {
      key: server.key,
      body: { displayName: 'fuzzed' },
    });
    return String(created.json.id);
  }

  for (const [name, method, suffix] of [
    ['GET /v1/players/:id/export', 'GET', '/export'],
    ['DELETE /v1/players/:id', 'DELETE', ''],
  ] as const) {
    it(name, async () => {
      await fc.assert(
        fc.asyncProperty(playerId, queryArb(['format'], text), async (pick, query) => {
          const id = await resolve(pick);
          const url = `/v1/players/${id}${suffix}${query}`;
          const before = await fingerprint();
          const answer = await send({ method, url, key: admin.key });
          // A refusal changes nothing; an export or erasure writes exactly its audit entry.
          const after = await fingerprint();
          expect(after.audit - before.audit).toBeLessThanOrEqual(answer.status < 400 ? 1 : 0);
          expect({ ...after, audit: 0 }).toEqual({ ...before, audit: 0 });
        }),
        { numRuns },
      );
    });
  }
});

describe('fuzzing the public routes', () => {
  for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
    it(`GET ${url}`, async () => {
      const before = await fingerprint();
      await fc.assert(
        fc.asyncProperty(
          queryArb(['format', 'verbose'], text),
          fc.boolean(),
          async (query, keyed) => {
            // With or without a key: a public route ignores it, and an unknown parameter is a 400.
            const answer = await send({
              method: 'GET',
              url: `${url}${query}`,
              key: keyed ? server.key : 'none',
            });
            expect(answer.status === 200 || answer.status === 400, `${url}${query}`).toBe(true);
          },
        ),
        { numRuns },
      );
      expect(await fingerprint()).toEqual(before);
    });
  }
});

describe('a sample over the network', () => {
  // The same properties through a real socket (HTTP parsing, chunking, the router's own limits).
  beforeAll(async () => {
    network = await api.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => {
    network = undefined;
  });
  const sample = 150;

  it('POST /v1/sessions/:id/events and /end', async () => {
    await fc.assert(
      fc.asyncProperty(
        idChoice,
        bodyArb(appendShape),
        bodyArb(endShape),
        fc.boolean(),
        async (choice, append, end, ending) => {
          const id = await idOf(choice, activeSession);
          const path = ending ? 'end' : 'events';
          const body = ending ? end : append;
          await sendChecked({
            method: 'POST',
            url: `/v1/sessions/${id}/${path}`,
            key: server.key,
            body,
          });
        },
      ),
      { numRuns: sample },
    );
  });

  it('GET reads and replays', async () => {
    const suffixes = fc.constantFrom('', '/state', '/events', '/snapshots', '/replay');
    await fc.assert(
      fc.asyncProperty(
        idChoice,
        suffixes,
        queryArb(['after', 'limit', 'to', 'verify'], replayText()),
        async (choice, suffix, query) => {
          const id = await idOf(choice, activeSession);
          await send({
            method: 'GET',
            url: `/v1/sessions/${id}${suffix}${query}`,
            key: analyst.key,
          });
        },
      ),
      { numRuns: sample },
    );
  });
});

function sequenceText(): fc.Arbitrary<string> {
  return fc.oneof(fc.nat({ max: 10 }).map(String), fc.constantFrom('0', '1000', '100000', '001'));
}

function replayText(): fc.Arbitrary<string> {
  return fc.oneof(
    sequenceText(),
    fc.constantFrom('genesis', 'snapshot', 'true', 'false', '1', '0', 'state', 'TRUE', 'yes'),
  );
}

describe('huge and deep inputs', () => {
  const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const note = (data: string) =>
    `{"events":[{"type":"note.written","data":{"text":"x","extra":${data}}}]}`;
  const cases: [string, 'POST' | 'GET', string, Body | undefined][] = [
    [
      'a 5 MiB body',
      'POST',
      '/events',
      { payload: `"${'x'.repeat(5 * 1024 * 1024)}"`, contentType: 'application/json' },
    ],
    [
      'a body nested 100,000 arrays deep',
      'POST',
      '/events',
      { payload: deepArray(100_000), contentType: 'application/json' },
    ],
    [
      'event data nested 5,000 arrays deep',
      'POST',
      '/events',
      { payload: note(deepArray(5_000)), contentType: 'application/json' },
    ],
    [
      'event data nested 5,000 objects deep',
      'POST',
      '/events',
      { payload: note(deepObject(5_000)), contentType: 'application/json' },
    ],
    [
      'event data nested 33 arrays deep',
      'POST',
      '/events',
      { payload: note(deepArray(33)), contentType: 'application/json' },
    ],
    [
      'a 900 KB event',
      'POST',
      '/events',
      { payload: note(JSON.stringify('x'.repeat(900_000))), contentType: 'application/json' },
    ],
    [
      '10,000 events',
      'POST',
      '/events',
      {
        payload: JSON.stringify({ events: Array.from({ length: 10_000 }, () => inc(1)) }),
        contentType: 'application/json',
      },
    ],
    [
      'a 900 KB type',
      'POST',
      '/events',
      {
        payload: JSON.stringify({ events: [{ type: 'x'.repeat(900_000), data: {} }] }),
        contentType: 'application/json',
      },
    ],
    [
      'a 900 KB event id',
      'POST',
      '/events',
      {
        payload: JSON.stringify({ events: [{ ...inc(1), eventId: 'x'.repeat(900_000) }] }),
        contentType: 'application/json',
      },
    ],
    [
      'text with \\u0000 in event data',
      'POST',
      '/events',
      { payload: note('"a\\u0000b"'), contentType: 'application/json' },
    ],
    [
      'a lone surrogate in event data',
      'POST',
      '/events',
      { payload: note('"\\ud800"'), contentType: 'application/json' },
    ],
    [
      'a \\u0000 key in event data',
      'POST',
      '/events',
      { payload: note('{"\\u0000":1}'), contentType: 'application/json' },
    ],
    [
      'a 900 KB end reason',
      'POST',
      '/end',
      { payload: JSON.stringify({ reason: 'x'.repeat(900_000) }), contentType: 'application/json' },
    ],
    ['a 100 KB query value', 'GET', `/events?after=${'9'.repeat(100_000)}`, undefined],
    ['a 100 KB replay target', 'GET', `/replay?to=${'1'.repeat(100_000)}`, undefined],
    [
      '1,000 query parameters',
      'GET',
      `/events?${Array.from({ length: 1000 }, (_, i) => `k${i}=1`).join('&')}`,
      undefined,
    ],
  ];

  it.each(cases)(
    'refuses %s with a problem and stores nothing',
    async (_name, method, path, body) => {
      const id = await activeSession();
      const key = path.startsWith('/replay') ? analyst.key : server.key;
      const { answer } = await sendChecked({ method, url: `/v1/sessions/${id}${path}`, key, body });
      expect(answer.status).toBeGreaterThanOrEqual(400);
    },
  );

  it('refuses a 900 KB seed, player id, rules name and config key', async () => {
    const huge = 'x'.repeat(900_000);
    for (const create of [
      { seed: huge },
      { playerId: huge },
      { rules: huge },
      { config: { [huge]: 1 } },
    ]) {
      const { answer } = await sendChecked({
        method: 'POST',
        url: '/v1/sessions',
        key: server.key,
        body: { payload: JSON.stringify(create), contentType: 'application/json' },
      });
      expect(answer.status).toBeGreaterThanOrEqual(400);
    }
  });

  describe('POST /v1/appends', () => {
    const appendMany = (sessions: unknown[]) => JSON.stringify({ sessions });
    const deepNote = (sessionId: string, data: string) =>
      `{"sessionId":"${sessionId}","events":[{"type":"note.written","data":{"text":"x","extra":${data}}}]}`;
    const good = (sessionId: string) => ({ sessionId, events: [inc(1)] });
    const goodText = (sessionId: string) => JSON.stringify(good(sessionId));
    type Outcome = 'stored beside' | 'payload_too_large' | 'invalid_request';
    const cases: [string, (bad: string, ok: string) => string, Outcome][] = [
      [
        'a 17 MiB body',
        (b) => appendMany([{ sessionId: b, events: ['x'.repeat(17 << 20)] }]),
        'payload_too_large',
      ],
      ['a body nested 100,000 arrays deep', () => deepArray(100_000), 'invalid_request'],
      [
        'a 900 KB session id',
        (_b, o) => appendMany([{ sessionId: 'x'.repeat(900_000), events: [inc(1)] }, good(o)]),
        'invalid_request',
      ],
      [
        'event data nested 5,000 arrays deep',
        (b, o) => `{"sessions":[${deepNote(b, deepArray(5_000))},${goodText(o)}]}`,
        'stored beside',
      ],
      [
        'event data nested 5,000 objects deep',
        (b, o) => `{"sessions":[${goodText(o)},${deepNote(b, deepObject(5_000))}]}`,
        'stored beside',
      ],
      [
        'a 900 KB event',
        (b, o) =>
          `{"sessions":[${deepNote(b, JSON.stringify('x'.repeat(900_000)))},${goodText(o)}]}`,
        'stored beside',
      ],
      [
        '10,000 events',
        (b, o) =>
          appendMany([
            { sessionId: b, events: Array.from({ length: 10_000 }, () => inc(1)) },
            good(o),
          ]),
        'stored beside',
      ],
      [
        'a lone surrogate in event data',
        (b, o) => `{"sessions":[${deepNote(b, '"\\ud800"')},${goodText(o)}]}`,
        'stored beside',
      ],
    ];

    it.each(cases)('handles %s in one session without a 5xx', async (_name, build, outcome) => {
      const [bad, ok] = [await newSession([]), await newSession([])];
      const body = { payload: build(bad, ok), contentType: 'application/json' };
      const answer = await sendAppends(server.tenantId, body);
      if (outcome !== 'stored beside') expect(answer.json.code).toBe(outcome);
      else {
        // sendAppends checked that only what was answered ok was stored.
        expect(answer.status).toBe(200);
        const results = answer.json.results as Record<string, unknown>[];
        expect(results.find((r) => r.sessionId === ok)).toMatchObject({ ok: true });
        expect(results.find((r) => r.sessionId === bad)).toMatchObject({ ok: false });
      }
    });
  });
});

// Found by this file and kept as regression cases: the router refused these before agate's error
// handler saw them (Fastify's own JSON error), and a year-0000 clientTime reached PostgreSQL.
describe('regressions found by fuzzing', () => {
  const routerRefusals = [
    ['a malformed percent-encoding in the session id', 'GET', '/v1/sessions/%'],
    ['a truncated UTF-8 percent-encoding', 'POST', '/v1/sessions/%E0%A4%A/events'],
    ['an encoded lone surrogate', 'POST', '/v1/sessions/%ED%A0%80/end'],
    ['a session id over 100 characters', 'GET', `/v1/sessions/${'a'.repeat(101)}/state`],
  ] as const;

  it.each(routerRefusals)('answers %s with problem+json', async (_name, method, url) => {
    await sendChecked({ method, url, key: server.key });
  });

  // Found by the events property (seed 20261123): JS dates accept year 0, PostgreSQL does not,
  // and the unmapped error became 500 internal; now 422 invalid_event at events[0].
  const yearZero = {
    payload: JSON.stringify({ events: [{ ...inc(1), clientTime: '0000-01-01T00:00:00Z' }] }),
    contentType: 'application/json',
  };

  it('refuses a clientTime in year 0000 with a 4xx problem', async () => {
    const id = await activeSession();
    await sendChecked({
      method: 'POST',
      url: `/v1/sessions/${id}/events`,
      key: server.key,
      body: yearZero,
    });
  });

  it('stores nothing for a clientTime in year 0000', async () => {
    const id = await activeSession();
    const before = await fingerprint();
    await api.app.inject({
      method: 'POST',
      url: `/v1/sessions/${id}/events`,
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      payload: yearZero.payload,
    });
    expect(await fingerprint()).toEqual(before);
  });

  // Found by the tenants property (seed 20261123, path 888): a lone surrogate in a tenant name
  // reached PostgreSQL as invalid UTF-8, a 500; now 400 invalid_request, for key labels too.
  it.each([
    ['/v1/tenants', '{"name":"\\ud800"}'],
    ['/v1/tenants', '{"name":"a\\u0000b"}'],
    ['/v1/api-keys', '{"role":"analyst","label":"\\udfff"}'],
  ])('refuses unstorable text sent to %s (%s) with a 400', async (url, payload) => {
    const { answer } = await sendChecked({
      method: 'POST',
      url,
      key: url === '/v1/tenants' ? operator.key : admin.key,
      body: { payload, contentType: 'application/json' },
    });
    expect(answer).toMatchObject({ status: 400, json: { code: 'invalid_request' } });
  });

  // Found while writing the appends property: an empty sessions[] and a session named twice
  // were refused by the store, whose messages name its `batches[i]`, a field the body does not
  // have; now the body's schema refuses them, naming sessions.
  it.each([
    ['no sessions', () => [], 'body.sessions: must name at least one session'],
    [
      'a session twice, in two cases',
      (id: string) => [id, id.toUpperCase()].map((sessionId) => ({ sessionId, events: [inc(1)] })),
      'body.sessions.1.sessionId: names session',
    ],
  ] as const)('refuses %s in POST /v1/appends naming sessions[]', async (_name, sessions, says) => {
    const id = await newSession([]);
    const answer = await sendAppends(server.tenantId, {
      payload: JSON.stringify({ sessions: sessions(id) }),
      contentType: 'application/json',
    });
    expect(answer).toMatchObject({ status: 400, json: { code: 'invalid_request' } });
    expect(answer.json.detail).toContain(says);
  });

  it.each(routerRefusals)('refuses %s with a 4xx and stores nothing', async (_n, method, url) => {
    const before = await fingerprint();
    const raw = await api.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${server.key}` },
    });
    expect([400, 414]).toContain(raw.statusCode);
    expect(await fingerprint()).toEqual(before);
  });
});
