import { describe, expect, it } from 'vitest';
import { isAgateError } from '../../src/errors/index.js';
import type { PreparedEvent } from '../../src/events/index.js';
import { copyRows } from '../../src/import/copy-rows.js';

const tenantId = '0190a0b0-0000-7000-8000-00000000000a';
const sessionId = '0190a0b0-0000-7000-8000-00000000000b';
// 2026-11-23T12:00:00.123456Z in microseconds since the Unix epoch.
const serverTimeMicros = '1795435200123456';
const postgresEpochMicros = 946_684_800_000_000n;

function event(i: number, data: Record<string, unknown>, clientTime: string | null = null) {
  return {
    eventId: `0190a0b0-0000-7000-8000-${String(i).padStart(12, '0')}`,
    type: 'bench.happened',
    version: 2,
    data,
    clientTime,
    contentHash: '',
  } satisfies PreparedEvent;
}

/** Reads COPY BINARY back into rows of fields (null for NULL), checking the framing. */
function readCopy(data: Buffer): (Buffer | null)[][] {
  expect(data.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  let at = 19;
  const rows: (Buffer | null)[][] = [];
  for (let count = data.readInt16BE(at); count !== -1; count = data.readInt16BE(at)) {
    at += 2;
    const fields: (Buffer | null)[] = [];
    for (let f = 0; f < count; f += 1) {
      const length = data.readInt32BE(at);
      at += 4;
      fields.push(length < 0 ? null : data.subarray(at, at + length));
      at += Math.max(length, 0);
    }
    rows.push(fields);
  }
  expect(at + 2).toBe(data.length);
  return rows;
}

const uuidBytes = (uuid: string) => Buffer.from(uuid.replaceAll('-', ''), 'hex');

describe('copyRows', () => {
  it('writes every event as one row of the ten columns, in sequence order, in COPY BINARY', () => {
    const events = [
      event(1, { text: 'plain' }, '2026-11-01T10:00:00.250Z'),
      event(2, { text: 'naïve ☃ 🎲', tab: '\t' }),
    ];
    const hashes = ['ab'.repeat(32), '0f'.repeat(32)];
    const data = Buffer.concat([
      ...copyRows(events, hashes, { tenantId, sessionId, serverTimeMicros }),
    ]);
    const rows = readCopy(data);
    expect(rows).toHaveLength(2);
    const [id, tenant, session, sequence, type, version, json, client, server, hash] =
      rows[1] ?? [];
    expect(id).toEqual(uuidBytes(events[1]?.eventId ?? ''));
    expect(tenant).toEqual(uuidBytes(tenantId));
    expect(session).toEqual(uuidBytes(sessionId));
    expect(sequence?.readBigInt64BE()).toBe(2n);
    expect(type?.toString('utf8')).toBe('bench.happened');
    expect(version?.readInt32BE()).toBe(2);
    expect(json?.[0]).toBe(1);
    expect(JSON.parse(json?.subarray(1).toString('utf8') ?? '')).toEqual(events[1]?.data);
    expect(client).toBeNull();
    expect(server?.readBigInt64BE()).toBe(BigInt(serverTimeMicros) - postgresEpochMicros);
    expect(hash?.toString('hex')).toBe('0f'.repeat(32));
    const firstClient = rows[0]?.[7]?.readBigInt64BE();
    expect(firstClient).toBe(
      BigInt(Date.parse('2026-11-01T10:00:00.250Z')) * 1000n - postgresEpochMicros,
    );
  });

  it('splits a long session into chunks that concatenate to the same data', () => {
    const events = Array.from({ length: 1_201 }, (_, i) => event(i + 1, { i }));
    const hashes = events.map(() => 'cd'.repeat(32));
    const chunks = [...copyRows(events, hashes, { tenantId, sessionId, serverTimeMicros })];
    expect(chunks.length).toBeGreaterThan(3);
    const rows = readCopy(Buffer.concat(chunks));
    expect(rows.map((r) => r[3]?.readBigInt64BE())).toEqual(events.map((_, i) => BigInt(i + 1)));
  });

  it('refuses a hash or an id that is not exactly its bytes in hex, rather than shift the row', () => {
    const write = (hash: string, eventId?: string) => () => [
      ...copyRows([{ ...event(1, {}), ...(eventId === undefined ? {} : { eventId }) }], [hash], {
        tenantId,
        sessionId,
        serverTimeMicros,
      }),
    ];
    for (const bad of ['ab'.repeat(31), `${'ab'.repeat(31)}zz`, 'ab'.repeat(33)]) {
      expect(write(bad)).toThrow(expect.toSatisfy((e) => isAgateError(e, 'internal')));
    }
    expect(write('ab'.repeat(32), 'not-a-uuid')).toThrow(/not 16 bytes of hex/);
  });
});
