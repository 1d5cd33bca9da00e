import type { PreparedEvent } from '../events/index.js';
import type { ImportSnapshot } from './prepare-session.js';

/** Rows per chunk: big enough to amortise a round trip, small enough to stay flat. */
const rowsPerChunk = 500;

/**
 * The rows' own columns as JSON arrays for `jsonb_to_recordset`, in chunks: for a database that
 * cannot stream COPY (the embedded one), or a session whose rows cannot be copied.
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
