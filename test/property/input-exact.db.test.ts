import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';

// Issue 14, item 7: what the API takes is stored as sent or refused. Every request goes through
// the real HTTP API (raw JSON text, so numbers arrive digit for digit) into PostgreSQL, and every
// accepted value is read back through the API. The oracles below are written independently of
// the code under test: accepted if and only if the oracle says it can be stored exactly, and an
// accepted value reads back equal (the same instant, the same decimal value, the same string).

let api: ApiFixture;
let server: TestKey;

beforeAll(async () => {
  api = await createApiFixture();
  server = await api.newKey(await api.newTenant(), 'game_server');
});
afterAll(() => api.close());

type Session = { id: string; last: number };

async function newSession(): Promise<Session> {
  const created = await api.call('POST', '/v1/sessions', {
    key: server.key,
    body: { rules: 'tiny' },
  });
  expect(created.status).toBe(201);
  return { id: created.json.id as string, last: 0 };
}

const json = { 'content-type': 'application/json' };

/** Appends one raw event; returns the stored event as read back, or the refusal's status. */
async function appendRaw(
  session: Session,
  eventJson: string,
): Promise<{ status: number; stored?: Record<string, unknown> }> {
  const reply = await api.call('POST', `/v1/sessions/${session.id}/events`, {
    key: server.key,
    headers: json,
    payload: `{"events":[${eventJson}]}`,
  });
  if (reply.status !== 201) return { status: reply.status };
  // Nothing refused before was stored: the sequence follows the last accepted one.
  expect(reply.json.firstSequence).toBe(session.last + 1);
  session.last += 1;
  const page = await api.call(
    'GET',
    `/v1/sessions/${session.id}/events?after=${session.last - 1}&limit=1`,
    { key: server.key },
  );
  const events = page.json.events as Record<string, unknown>[];
  return { status: 201, stored: events[0] };
}

// ---- time oracle: calendar arithmetic through Date's own roll-over, in microseconds ----

type TimeParts = {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number | null;
  fraction: string | null;
  separator: string;
  zone: string;
};

const pad = (n: number, w: number) => String(n).padStart(w, '0');

function textOf(p: TimeParts): string {
  const seconds = p.second === null ? '' : `:${pad(p.second, 2)}`;
  const fraction = p.fraction === null ? '' : `.${p.fraction}`;
  return `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(p.day, 2)}${p.separator}${pad(p.hour, 2)}:${pad(p.minute, 2)}${seconds}${fraction}${p.zone}`;
}

/** Microseconds since 1970 of a UTC civil time, or undefined when Date rolls it (Feb 30). */
function civilMicros(y: number, mo: number, d: number, h: number, mi: number, s: number) {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    return undefined;
  }
  date.setUTCHours(h, mi, s, 0);
  return BigInt(date.getTime()) * 1000n;
}

function expectedMicros(p: TimeParts): bigint | undefined {
  if (p.separator.toUpperCase() !== 'T' || p.second === null || p.year > 9999) return undefined;
  if (p.month < 1 || p.month > 12 || p.hour > 23 || p.minute > 59 || p.second > 59)
    return undefined;
  const zone = /^(?:[Zz]|([+-])(\d\d):(\d\d))$/.exec(p.zone);
  if (zone === null) return undefined;
  const [, sign, oh = '00', om = '00'] = zone;
  if (Number(oh) > 23 || Number(om) > 59) return undefined;
  if (p.fraction !== null && (p.fraction === '' || /[^0]/.test(p.fraction.slice(6)))) {
    return undefined;
  }
  const local = civilMicros(p.year, p.month, p.day, p.hour, p.minute, p.second);
  if (local === undefined || p.year === 0) return undefined;
  const offset = BigInt((sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om))) * 60_000_000n;
  const micros = BigInt((p.fraction ?? '').slice(0, 6).padEnd(6, '0'));
  const utc = local - offset + micros;
  const first = civilMicros(1, 1, 1, 0, 0, 0) ?? 0n;
  const afterLast = civilMicros(10000, 1, 1, 0, 0, 0) ?? 0n;
  return utc >= first && utc < afterLast ? utc : undefined;
}

function readBackMicros(text: unknown): bigint {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3}|\d{6})Z$/.exec(String(text));
  if (m === null) throw new Error(`clientTime read back as ${String(text)}`);
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = m.slice(1, 7).map(Number);
  const whole = civilMicros(y, mo, d, h, mi, s);
  if (whole === undefined) throw new Error(`clientTime read back as ${String(text)}`);
  return whole + BigInt((m[7] ?? '').padEnd(6, '0'));
}

const timeParts: fc.Arbitrary<TimeParts> = fc.record({
  year: fc.oneof(
    fc.constantFrom(0, 1, 99, 100, 1900, 1970, 2000, 2024, 2026, 9999, 10000),
    fc.integer({ min: 0, max: 9999 }),
  ),
  month: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 2, 13)),
  day: fc.oneof(fc.integer({ min: 1, max: 28 }), fc.constantFrom(0, 29, 30, 31, 32)),
  hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constant(24)),
  minute: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constant(60)),
  second: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 59 }) },
    { weight: 1, arbitrary: fc.constantFrom(60, null) },
  ),
  fraction: fc.option(
    fc.oneof(fc.stringMatching(/^\d{1,9}$/), fc.stringMatching(/^\d{1,6}0{1,3}$/), fc.constant('')),
  ),
  separator: fc.constantFrom('T', 't', ' '),
  zone: fc.oneof(
    fc.constantFrom('Z', 'z', '', '+00:00', '-00:00', '+24:00', '+05:60'),
    fc
      .tuple(
        fc.constantFrom('+', '-'),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
      )
      .map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`),
  ),
});

// ---- decimal oracle: exact rational comparison with BigInt ----

function decimalOf(text: string): { m: bigint; e: number } | undefined {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  const m = BigInt(`${sign}${whole}${fraction}`);
  return { m, e: Number(exponent) - fraction.length };
}

function sameDecimal(a: string, b: string): boolean {
  const x = decimalOf(a);
  const y = decimalOf(b);
  if (x === undefined || y === undefined) return false;
  if (x.m === 0n || y.m === 0n) return x.m === y.m;
  if (Math.abs(x.e - y.e) > 2000) return false;
  const e = Math.min(x.e, y.e);
  return x.m * 10n ** BigInt(x.e - e) === y.m * 10n ** BigInt(y.e - e);
}

const decimalText = fc
  .tuple(
    fc.constantFrom('', '-'),
    fc.stringMatching(/^(0|[1-9]\d{0,24})$/),
    fc.option(fc.stringMatching(/^\d{1,25}$/)),
    fc.option(
      fc.tuple(
        fc.constantFrom('e', 'E'),
        fc.constantFrom('', '+', '-'),
        fc.integer({ min: 0, max: 400 }),
      ),
    ),
  )
  .map(
    ([sign, whole, fraction, exponent]) =>
      `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : exponent.join('')}`,
  );

const numberText = fc.oneof(
  fc.constantFrom(
    '1e400',
    '-1e400',
    '1e-400',
    '9007199254740993',
    '9007199254740992',
    '-0',
    '1.0',
    '0.1',
    '1E2',
    '5e-324',
    '0.10000000000000000001',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  decimalText,
);

// ---- string oracle: well-formed UTF-16 without NUL, checked code unit by code unit ----

function storableString(s: string): boolean {
  for (let i = 0; i < s.length; i += 1) {
    const unit = s.charCodeAt(i);
    if (unit === 0) return false;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i += 1;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return false;
  }
  return true;
}

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc
    .array(
      fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 3 }),
        fc.constantFrom('\ud800', '\udfff', '\u0000', '\ud83d\ude00', '\udc00\ud800', 'é'),
      ),
      { maxLength: 5 },
    )
    .map((parts) => parts.join('')),
);

describe('input is stored as sent or refused', () => {
  test('a clientTime is accepted exactly when it is a storable RFC 3339 instant, and reads back as that instant', async () => {
    const session = await newSession();
    await fc.assert(
      fc.asyncProperty(timeParts, async (parts) => {
        const sent = textOf(parts);
        const expected = expectedMicros(parts);
        const reply = await appendRaw(
          session,
          JSON.stringify({ type: 'note.written', data: { text: 't' }, clientTime: sent }),
        );
        if (expected === undefined) {
          expect(reply.status, sent).toBe(422);
          return;
        }
        expect(reply.status, sent).toBe(201);
        expect(readBackMicros(reply.stored?.clientTime), sent).toBe(expected);
      }),
      { numRuns: 250 },
    );
  });

  test('a number in event data or session config is accepted exactly when it reads back as the same value', async () => {
    const session = await newSession();
    await fc.assert(
      fc.asyncProperty(numberText, async (sent) => {
        const exact = sameDecimal(sent, String(Number(sent)));
        const reply = await appendRaw(
          session,
          `{"type":"note.written","data":{"text":"n","extra":${sent}}}`,
        );
        const config = await api.call('POST', '/v1/sessions', {
          key: server.key,
          headers: json,
          payload: `{"rules":"tiny","config":{"n":${sent}}}`,
        });
        if (!exact) {
          expect([reply.status, config.status], sent).toEqual([400, 400]);
          return;
        }
        expect([reply.status, config.status], sent).toEqual([201, 201]);
        const data = reply.stored?.data as Record<string, unknown>;
        expect(sameDecimal(sent, String(data.extra)), sent).toBe(true);
        const session2 = await api.call('GET', `/v1/sessions/${String(config.json.id)}`, {
          key: server.key,
        });
        const n = (session2.json.config as Record<string, unknown>).n;
        expect(sameDecimal(sent, String(n)), sent).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('a string is accepted exactly when it is storable, as event data, a key or a 1 to 256 character seed, and reads back the same', async () => {
    const session = await newSession();
    const seeds = fc.oneof(
      text,
      fc.constantFrom('', 'x'.repeat(256), 'x'.repeat(257), `${'x'.repeat(254)}\ud83d\ude00`),
      fc.string({ unit: 'binary-ascii', minLength: 200, maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(text, text, seeds, async (value, key, seed) => {
        const reply = await appendRaw(
          session,
          JSON.stringify({ type: 'note.written', data: { text: value, extra: { [key]: 1 } } }),
        );
        if (storableString(value) && storableString(key)) {
          expect(reply.status).toBe(201);
          expect(reply.stored?.data).toEqual({ text: value, extra: { [key]: 1 } });
        } else expect(reply.status).toBe(422);
        const created = await api.call('POST', '/v1/sessions', {
          key: server.key,
          headers: json,
          payload: JSON.stringify({ rules: 'tiny', seed }),
        });
        if (seed.length < 1 || seed.length > 256 || !storableString(seed)) {
          expect(created.status).toBe(400);
          return;
        }
        expect(created.status).toBe(201);
        const read = await api.call('GET', `/v1/sessions/${String(created.json.id)}`, {
          key: server.key,
        });
        expect(read.json.seed).toBe(seed);
      }),
      { numRuns: 150 },
    );
  });
});
