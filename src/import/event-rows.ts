import type { PreparedEvent } from '../events/index.js';
import type { ImportSnapshot } from './prepare-session.js';

/**
 * COPY's text format: tab-separated columns, one row per line, `\N` for NULL, and a backslash,
 * tab, newline or carriage return inside a value written as a backslash escape.
 */
function escapeCopy(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) => ({ '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? '\\\\')
    : text;
}

/** Rows per chunk of COPY data: big enough to amortise the stream, small enough to stay flat. */
const rowsPerChunk = 500;

/**
 * The rows of the import's temporary table as COPY text, in chunks: event_id, sequence,
 * event_type, event_version, event_data (JSON), client_time, hash (bytea as `\x` hex).
 */
export function* copyChunks(
  events: readonly PreparedEvent[],
  hashes: readonly string[],
): Generator<string> {
  for (let start = 0; start < events.length; start += rowsPerChunk) {
    let chunk = '';
    const end = Math.min(events.length, start + rowsPerChunk);
    for (let i = start; i < end; i += 1) {
      const e = events[i] as PreparedEvent;
      const clientTime = e.clientTime === null ? '\\N' : e.clientTime;
      const data = escapeCopy(JSON.stringify(e.data));
      chunk += `${e.eventId}\t${i + 1}\t${escapeCopy(e.type)}\t${e.version}\t${data}\t${clientTime}\t\\\\x${hashes[i] ?? ''}\n`;
    }
    yield chunk;
  }
}

/**
 * The same rows as JSON arrays for `jsonb_to_recordset`, in chunks: for a database that cannot
 * stream COPY (the embedded one).
 */
export function* jsonChunks(
  events: readonly PreparedEvent[],
  hashes: readonly string[],
): Generator<string> {
  for (let start = 0; start < events.length; start += rowsPerChunk) {
    const items: string[] = [];
    const end = Math.min(events.length, start + rowsPerChunk);
    for (let i = start; i < end; i += 1) {
      const e = events[i] as PreparedEvent;
      const clientTime = e.clientTime === null ? 'null' : `"${e.clientTime}"`;
      items.push(
        `{"event_id":"${e.eventId}","sequence":${i + 1},"event_type":${JSON.stringify(e.type)},"event_version":${e.version},"event_data":${JSON.stringify(e.data)},"client_time":${clientTime},"hash":"\\\\x${hashes[i] ?? ''}"}`,
      );
    }
    yield `[${items.join(',')}]`;
  }
}

/** The snapshots as one JSON array for `jsonb_to_recordset` (column names as keys). */
export function snapshotsJson(snapshots: readonly ImportSnapshot[]): string {
  const items = snapshots.map(
    (s) =>
      `{"id":"${s.id}","sequence":${s.sequence},"state":${s.stateJson},"state_hash":"${s.stateHash}","reason":"${s.reason}"}`,
  );
  return `[${items.join(',')}]`;
}
