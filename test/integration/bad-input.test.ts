import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import type { NewEvent, Session } from '../../src/events/index.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantId: string;
let session: Session;

beforeAll(async () => {
  f = await createStoreFixture();
  tenantId = await f.newTenant();
  session = await f.store.createSession({ tenantId, rules: 'tiny' });
  await f.store.appendEvents({
    tenantId,
    sessionId: session.id,
    events: [{ type: 'counter.incremented', version: 1, data: { by: 1 } }],
  });
});
afterAll(() => f.db.drop());

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i += 1) value = { next: value };
  return value;
}

const ok: NewEvent = { type: 'counter.incremented', version: 1, data: { by: 1 } };
const cases: [string, unknown[], string][] = [
  ['an unknown type', [{ type: 'counter.exploded', data: {} }], 'unknown_event_type'],
  [
    'a version the type does not have',
    [{ type: 'counter.incremented', version: 9, data: { by: 1 } }],
    'unknown_event_type',
  ],
  [
    'data that is an array',
    [{ type: 'counter.incremented', version: 1, data: [1] }],
    'invalid_event',
  ],
  [
    'data that is a string',
    [{ type: 'counter.incremented', version: 1, data: 'by=1' }],
    'invalid_event',
  ],
  ['data that is null', [{ type: 'counter.incremented', version: 1, data: null }], 'invalid_event'],
  ['an event that is not an object', [42], 'invalid_event'],
  [
    'a payload over 64 KiB',
    [{ type: 'note.written', data: { text: 'x'.repeat(70_000) } }],
    'payload_too_large',
  ],
  ['NaN', [{ type: 'counter.incremented', version: 1, data: { by: Number.NaN } }], 'invalid_event'],
  ['Infinity', [{ type: 'note.written', data: { text: 'a', extra: Infinity } }], 'invalid_event'],
  [
    'JSON nested 40 deep',
    [{ type: 'note.written', data: { text: 'a', extra: nested(40) } }],
    'invalid_event',
  ],
  [
    'JSON nested 100,000 deep',
    [{ type: 'note.written', data: { text: 'a', extra: nested(100_000) } }],
    'invalid_event',
  ],
  ['an event id that is not a UUID', [{ ...ok, eventId: 'not-a-uuid' }], 'invalid_event'],
  ['\\u0000 in a string', [{ type: 'note.written', data: { text: 'a\u0000b' } }], 'invalid_event'],
  [
    '\\u0000 in a key',
    [{ type: 'note.written', data: { text: 'a', extra: { 'k\u0000': 1 } } }],
    'invalid_event',
  ],
  ['an unpaired surrogate', [{ type: 'note.written', data: { text: 'a\ud800' } }], 'invalid_event'],
  [
    'a value the schema refuses',
    [{ type: 'counter.incremented', version: 1, data: { by: 1.5 } }],
    'invalid_event',
  ],
  [
    'a field the strict schema does not know',
    [{ type: 'counter.incremented', version: 1, data: { by: 1, x: 2 } }],
    'invalid_event',
  ],
  ['a non-string seed', [{ type: 'dice.rolled', data: { sides: 6, seed: 7 } }], 'invalid_event'],
  [
    'a Date in data',
    [{ type: 'note.written', data: { text: 'a', extra: new Date(0) } }],
    'invalid_event',
  ],
  [
    'undefined in data',
    [{ type: 'note.written', data: { text: 'a', extra: { u: undefined } } }],
    'invalid_event',
  ],
  ['a bad clientTime', [{ ...ok, clientTime: 'yesterday' }], 'invalid_event'],
  // Found by the API fuzzer: JS dates accept year 0, PostgreSQL does not.
  ['a clientTime in year 0000', [{ ...ok, clientTime: '0000-01-01T00:00:00Z' }], 'invalid_event'],
  ['a clientTime on February 30', [{ ...ok, clientTime: '2026-02-30T00:00:00Z' }], 'invalid_event'],
  ['a clientTime leap second', [{ ...ok, clientTime: '2026-12-31T23:59:60Z' }], 'invalid_event'],
  [
    'a clientTime past the microsecond',
    [{ ...ok, clientTime: '2026-11-23T12:00:00.0000001Z' }],
    'invalid_event',
  ],
  [
    'session.ended before the last event',
    [{ type: 'session.ended', data: {} }, ok],
    'invalid_event',
  ],
  [
    'the same event id twice',
    [
      { ...ok, eventId: '0190a6c8-0000-7000-8000-000000000001' },
      { ...ok, eventId: '0190a6c8-0000-7000-8000-000000000001' },
    ],
    'invalid_event',
  ],
  ['an empty batch', [], 'invalid_request'],
  ['501 events', Array.from({ length: 501 }, () => ok), 'batch_too_large'],
  [
    'one bad event after good ones',
    [ok, ok, { type: 'counter.incremented', version: 1, data: { by: 'one' } }],
    'invalid_event',
  ],
];

async function expectUnchanged(): Promise<void> {
  const current = await f.store.getSession({ tenantId, sessionId: session.id });
  expect(current.lastSequence).toBe(1);
  const stored = await f.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM game.events WHERE session_id = $1',
    [session.id],
  );
  expect(stored.rows[0]?.n).toBe(1);
}

describe('bad input', () => {
  it.each(cases)('refuses %s with its code and stores nothing', async (_, events, code) => {
    const attempt = f.store.appendEvents({
      tenantId,
      sessionId: session.id,
      events: events as NewEvent[],
    });
    await expect(attempt).rejects.toMatchObject({ code });
    await expectUnchanged();
  });

  it('gives messages that say what to fix', async () => {
    const attempt = f.store.appendEvents({
      tenantId,
      sessionId: session.id,
      events: [ok, { type: 'counter.incremented', version: 1, data: { by: 'one' } }],
    });
    await expect(attempt).rejects.toThrow(/events\[1\]: data\.by: .*counter\.incremented v1/);
  });

  it.each([
    ['a negative expectedSequence', -1],
    ['a fractional expectedSequence', 1.5],
    ['a string expectedSequence', '1'],
  ])('refuses %s', async (_, expectedSequence) => {
    const attempt = f.store.appendEvents({
      tenantId,
      sessionId: session.id,
      expectedSequence: expectedSequence as number,
      events: [ok],
    });
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_request' });
    await expectUnchanged();
  });

  it('reports a malformed session id as not found', async () => {
    await expect(
      f.store.appendEvents({ tenantId, sessionId: 'nope', events: [ok] }),
    ).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('accepts a payload exactly at the limit and the configured limit is honoured', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const overhead = Buffer.byteLength(JSON.stringify({ text: '' }));
    const atLimit = { type: 'note.written', data: { text: 'x'.repeat(64 * 1024 - overhead) } };
    await expect(
      f.store.appendEvents({ tenantId, sessionId: s.id, events: [atLimit] }),
    ).resolves.toMatchObject({ ok: true });
  });

  it('stores strings full of SQL and quotes verbatim and hashes them as stored', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const texts = [
      "'; DROP TABLE game.events; --",
      'Robert"); DELETE FROM game.sessions WHERE ("1"="1',
      "$$ LANGUAGE plpgsql; SELECT set_config('app.tenant_id', 'x', false); $$",
      "\\x00 \\u0000 E'\\\\' ` ´ “curly” 😀 𝄞 \t\n\r",
      "SELECT * FROM pg_authid WHERE rolname = 'postgres' /*",
    ];
    const events = texts.map((text) => ({
      type: 'note.written',
      eventId: uuidv7(),
      data: { text, extra: { [text]: text } },
    }));
    await f.store.appendEvents({ tenantId, sessionId: s.id, events });
    const stored = await allEvents(f.store, s);
    expect(stored.map((e) => e.data)).toEqual(
      texts.map((text) => ({ text, extra: { [text]: text } })),
    );
    const { firstBrokenLink } = await import('../support/chain.js');
    expect(
      firstBrokenLink(await f.store.getSession({ tenantId, sessionId: s.id }), stored),
    ).toBeNull();
  });

  it('refuses a bad session config or seed without creating a session', async () => {
    const before = await f.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM game.sessions',
    );
    await expect(
      f.store.createSession({ tenantId, rules: 'tiny', config: { x: Number.NaN } }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      f.store.createSession({
        tenantId,
        rules: 'tiny',
        config: [] as unknown as Record<string, unknown>,
      }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      f.store.createSession({ tenantId, rules: 'tiny', seed: '' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      f.store.createSession({ tenantId, rules: 'tiny', seed: 'a\u0000' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(f.store.createSession({ tenantId, rules: 'tiny', id: 'x' })).rejects.toMatchObject(
      { code: 'invalid_request' },
    );
    await expect(
      f.store.createSession({ tenantId, rules: 'tiny', rulesVersion: 2 }),
    ).rejects.toMatchObject({ code: 'unknown_rules' });
    const after = await f.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM game.sessions',
    );
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('stores a client time as the instant sent, to the microsecond, and reads it back in UTC', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const result = await f.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: [
        { ...ok, clientTime: '2026-11-23t13:00:00.123456+01:00' },
        { ...ok, clientTime: new Date('2026-11-23T12:00:00.5Z') },
        { ...ok, clientTime: '2026-11-23T12:00:00.000001000z' },
        ok,
      ],
    });
    expect(result.ok).toBe(true);
    const page = await f.store.readEvents({ tenantId, sessionId: s.id });
    expect(page.events.map((e) => e.clientTime)).toEqual([
      '2026-11-23T12:00:00.123456Z',
      '2026-11-23T12:00:00.500Z',
      '2026-11-23T12:00:00.000001Z',
      null,
    ]);
  });

  it('says what is wrong with a seed: empty, or over the one limit of 256 characters', async () => {
    await expect(f.store.createSession({ tenantId, rules: 'tiny', seed: '' })).rejects.toThrow(
      /seed is empty/,
    );
    await expect(
      f.store.createSession({ tenantId, rules: 'tiny', seed: 'x'.repeat(257) }),
    ).rejects.toThrow(/257 characters, over the limit of 256/);
    const longest = await f.store.createSession({ tenantId, rules: 'tiny', seed: 'x'.repeat(256) });
    expect(longest.seed).toBe('x'.repeat(256));
  });
});
