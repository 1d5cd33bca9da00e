import { AgateError } from '../errors/index.js';
import { clientTimeMicros } from '../events/index.js';
import type { PreparedEvent } from '../events/index.js';

/**
 * COPY's binary format (PostgreSQL's "COPY BINARY": a signature, flags and header extension, then
 * per row a 16-bit field count and each field as a 32-bit length, -1 for NULL, and the type's
 * binary send format; a 16-bit -1 ends the data). PostgreSQL reads it without parsing text for
 * the uuids, integers, times and hashes: the text format cost it about twice as much per row.
 */
const header = Buffer.from([
  ...Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
  ...[0, 0, 0, 0],
  ...[0, 0, 0, 0],
]);
const trailer = Buffer.from([0xff, 0xff]);

/** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z). */
const postgresEpochMicros = 946_684_800_000_000n;

/** Rows per chunk of COPY data: big enough to amortise the stream, small enough to stay flat. */
const rowsPerChunk = 500;

/** The columns `copyRows` writes, in its order. */
export const eventColumns =
  'event_id, tenant_id, session_id, sequence, event_type, event_version, event_data, client_time, server_time, hash, written_by';

/** What every imported row records as its writer (`WrittenBy`). */
export const importWriter = 'import';

/** What every row of one session shares: the values its session row got when it was inserted. */
export type SessionColumns = {
  tenantId: string;
  sessionId: string;
  /** server_time as microseconds since the Unix epoch (text of an integer). */
  serverTimeMicros: string;
};

const hexValues = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i += 1) {
  hexValues['0123456789abcdef'.charCodeAt(i)] = i;
  hexValues['0123456789ABCDEF'.charCodeAt(i)] = i;
}

function notHex(text: string, bytes: number): AgateError {
  return new AgateError('internal', `${text} is not ${bytes} bytes of hex; nothing was stored.`);
}

/**
 * Writes the `bytes` bytes that `text` spells in hex, skipping dashes (a UUID), and returns the
 * offset after them. Anything else would shift every later field of the data, so it throws.
 */
function writeHex(out: Buffer, at: number, text: string, bytes: number): number {
  let o = at;
  let high = -1;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 45 && high < 0) continue;
    const value = code < 128 ? (hexValues[code] ?? -1) : -1;
    if (value < 0 || o === at + bytes) throw notHex(text, bytes);
    if (high < 0) high = value;
    else {
      out[o++] = (high << 4) | value;
      high = -1;
    }
  }
  if (o !== at + bytes || high >= 0) throw notHex(text, bytes);
  return o;
}

function uuidField(uuid: string): Buffer {
  const field = Buffer.alloc(20);
  field.writeInt32BE(16, 0);
  writeHex(field, 4, uuid, 16);
  return field;
}

function timeField(unixMicros: bigint): Buffer {
  const field = Buffer.alloc(12);
  field.writeInt32BE(8, 0);
  field.writeBigInt64BE(unixMicros - postgresEpochMicros, 4);
  return field;
}

// Field count, then: event id, tenant, session, sequence, type, version, data (+1 jsonb version
// byte), client time (NULL or 8 bytes), server time, hash, writer; each with its 4-byte length.
const writerField = Buffer.concat([Buffer.alloc(4), Buffer.from(importWriter, 'utf8')]);
writerField.writeInt32BE(writerField.length - 4, 0);
const fixedBytes = 2 + 20 + 20 + 20 + 12 + 4 + 8 + 5 + 12 + 12 + 36 + writerField.length;

/** Writes `text` as UTF-8 after its 32-bit length (and a prefix byte, such as jsonb's 1). */
function writeText(out: Buffer, at: number, text: string, prefix?: number): number {
  let o = at + 4;
  if (prefix !== undefined) o = out.writeUInt8(prefix, o);
  const end = o + out.write(text, o, 'utf8');
  out.writeInt32BE(end - at - 4, at);
  return end;
}

type Row = { event: PreparedEvent; data: string; sequence: number; hash: string };

/** One row at `at`; `out` has room for it (UTF-8 takes at most 3 bytes per UTF-16 unit). */
function writeRow(out: Buffer, at: number, row: Row, shared: Buffer): number {
  const { event, sequence } = row;
  let o = out.writeInt16BE(11, at);
  o = writeHex(out, out.writeInt32BE(16, o), event.eventId, 16);
  o += shared.copy(out, o, 0, 40);
  o = out.writeInt32BE(8, o);
  o = out.writeUInt32BE(Math.floor(sequence / 2 ** 32), o);
  o = out.writeUInt32BE(sequence >>> 0, o);
  o = writeText(out, o, event.type);
  o = out.writeInt32BE(event.version, out.writeInt32BE(4, o));
  o = writeText(out, o, row.data, 1);
  if (event.clientTime === null) o = out.writeInt32BE(-1, o);
  else o += timeField(clientTimeMicros(event.clientTime)).copy(out, o);
  o += shared.copy(out, o, 40);
  o = writeHex(out, out.writeInt32BE(32, o), row.hash, 32);
  return o + writerField.copy(out, o);
}

/** Rows `start` to `end` (exclusive) as one buffer. */
function chunkOf(
  events: readonly PreparedEvent[],
  hashes: readonly string[],
  range: { start: number; end: number },
  shared: Buffer,
): Buffer {
  const rows: Row[] = [];
  let room = 0;
  for (let i = range.start; i < range.end; i += 1) {
    const event = events[i] as PreparedEvent;
    const row = { event, data: JSON.stringify(event.data), sequence: i + 1, hash: hashes[i] ?? '' };
    room += fixedBytes + 3 * (event.type.length + row.data.length);
    rows.push(row);
  }
  const out = Buffer.allocUnsafe(room);
  let at = 0;
  for (const row of rows) at = writeRow(out, at, row, shared);
  return out.subarray(0, at);
}

/**
 * The session's rows of game.events as COPY BINARY data, in chunks, in the column order of
 * `eventColumns`: event_id, tenant_id, session_id, sequence (1..n), event_type, event_version,
 * event_data (jsonb), client_time, server_time, hash (the chain hash of `hashes`, hex),
 * written_by (`importWriter`).
 */
export function* copyRows(
  events: readonly PreparedEvent[],
  hashes: readonly string[],
  session: SessionColumns,
): Generator<Buffer> {
  const shared = Buffer.concat([
    uuidField(session.tenantId),
    uuidField(session.sessionId),
    timeField(BigInt(session.serverTimeMicros)),
  ]);
  yield header;
  for (let start = 0; start < events.length; start += rowsPerChunk) {
    const end = Math.min(events.length, start + rowsPerChunk);
    yield chunkOf(events, hashes, { start, end }, shared);
  }
  yield trailer;
}
