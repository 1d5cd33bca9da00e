import { uuidv7 } from 'uuidv7';
import type { Pool } from '../../src/db/index.js';
import { AgateClient } from '../../src/client/index.js';
import type { EventStore } from '../../src/events/index.js';
import { sessionIndex } from './run-workers.js';
import type { CallOutcome, WorkerCall } from './run-workers.js';

export type ScenarioKind = 'agate' | 'http' | 'raw-txn' | 'raw-insert';
export type Scenario = { id: string; label: string; kind: ScenarioKind; batch: number };

export const scenarios: readonly Scenario[] = [
  { id: 'agate-1', label: 'agate append, 1 event', kind: 'agate', batch: 1 },
  { id: 'agate-10', label: 'agate append, 10 events', kind: 'agate', batch: 10 },
  { id: 'agate-10-ids', label: 'agate append, 10 events, client ids', kind: 'agate', batch: 10 },
  { id: 'agate-50', label: 'agate append, 50 events', kind: 'agate', batch: 50 },
  { id: 'http-1', label: 'HTTP client append, 1 event', kind: 'http', batch: 1 },
  { id: 'http-10', label: 'HTTP client append, 10 events', kind: 'http', batch: 10 },
  { id: 'raw-txn-1', label: 'raw txn append, 1 event', kind: 'raw-txn', batch: 1 },
  { id: 'raw-txn-10', label: 'raw txn append, 10 events', kind: 'raw-txn', batch: 10 },
  { id: 'raw-txn-50', label: 'raw txn append, 50 events', kind: 'raw-txn', batch: 50 },
  { id: 'raw-insert-1', label: 'raw bare INSERT, autocommit', kind: 'raw-insert', batch: 1 },
];

/** Which raw baseline each agate scenario is compared with (same batch, same clients). */
export const baselineOf: Readonly<Record<string, string>> = {
  'agate-1': 'raw-txn-1',
  'agate-10': 'raw-txn-10',
  'agate-10-ids': 'raw-txn-10',
  'agate-50': 'raw-txn-50',
  // Through HTTP, the baseline is the library's own append: what the network layer costs.
  'http-1': 'agate-1',
  'http-10': 'agate-10',
};

/** Everything a scenario's calls need, all built before the clock starts. */
export type Fixture = {
  pool: Pool;
  store: EventStore;
  tenantId: string;
  sessionIds: readonly string[];
  clients: number;
  payloads: readonly string[];
  /** The API in its own process, with a game_server key of the tenant (HTTP scenarios only). */
  http: { url: string; apiKey: string } | null;
  /** Stops agate's own consumers, which run beside the appends as users run them. */
  close(): Promise<void>;
};

const eventType = 'bench.happened';
const fixedHash = Buffer.alloc(32, 0xab);

/** `count` distinct strings of exactly `length` characters. */
export function makePayloads(count: number, length: number): string[] {
  return Array.from({ length: count }, (_, i) => `${i}:`.padEnd(length, 'x'));
}

function insertSql(batch: number): string {
  const rows = Array.from(
    { length: batch },
    (_, k) =>
      `($${6 + 2 * k}::uuid, $1::uuid, $2::uuid, $3::bigint + ${k}, $5, 1, $${7 + 2 * k}::jsonb, NULL, now(), $4::bytea, 'library')`,
  );
  return `INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type,
    event_version, event_data, client_time, server_time, hash, written_by) VALUES ${rows.join(', ')}`;
}

function insertParams(f: Fixture, session: string, first: number, data: string[]): unknown[] {
  const params: unknown[] = [f.tenantId, session, first, fixedHash, eventType];
  for (const d of data) params.push(uuidv7(), d);
  return params;
}

function pick<T>(items: readonly T[], index: number): T {
  const item = items[index % items.length];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function sessionFor(f: Fixture, worker: number, iteration: number): string {
  return pick(f.sessionIds, sessionIndex(worker, iteration, f.clients, f.sessionIds.length));
}

/** Events both the library and the client accept. */
type BenchEvent = { type: string; version: number; data: Record<string, unknown> };

function eventBatches(f: Fixture, batch: number): BenchEvent[][] {
  return f.payloads.map((_, j) =>
    Array.from({ length: batch }, (_, k) => ({
      type: eventType,
      version: 1,
      data: { payload: pick(f.payloads, j + k) },
    })),
  );
}

/** The typed client against the API: event ids assigned by the client, retries on. */
function httpCall(f: Fixture, batch: number): WorkerCall {
  if (f.http === null) throw new Error('an HTTP scenario needs the API server');
  const client = new AgateClient({ baseUrl: f.http.url, apiKey: f.http.apiKey });
  const batches = eventBatches(f, batch);
  return async function appendOverHttp(worker, iteration): Promise<CallOutcome> {
    const events = pick(batches, worker + iteration * f.clients);
    await client.append(sessionFor(f, worker, iteration), events);
    return { ok: true };
  };
}

/**
 * The library's append. With `clientIds` every event carries an id chosen here, as a game server
 * that retries does, and the append checks each for a duplicate (drawn at call time: ids cannot
 * be reused across calls, ~1.5 us each); without, agate mints the ids and skips that check.
 */
function agateCall(f: Fixture, batch: number, clientIds: boolean): WorkerCall {
  const batches = eventBatches(f, batch);
  return async function appendWithAgate(worker, iteration): Promise<CallOutcome> {
    const events = pick(batches, worker + iteration * f.clients);
    const result = await f.store.appendEvents({
      tenantId: f.tenantId,
      sessionId: sessionFor(f, worker, iteration),
      events: clientIds ? events.map((e) => ({ ...e, eventId: uuidv7() })) : events,
    });
    return result.ok ? { ok: true } : { ok: false, error: `${result.reason}: ${result.message}` };
  };
}

function dataBatches(f: Fixture, batch: number): string[][] {
  const json = f.payloads.map((payload) => JSON.stringify({ payload }));
  return json.map((_, j) => Array.from({ length: batch }, (_, k) => pick(json, j + k)));
}

/** BEGIN; bump last_sequence under the row lock; insert the rows; COMMIT (as the owner, no RLS). */
function rawTxnCall(f: Fixture, batch: number): WorkerCall {
  const batches = dataBatches(f, batch);
  const sql = insertSql(batch);
  return async function appendRawTxn(worker, iteration): Promise<CallOutcome> {
    const session = sessionFor(f, worker, iteration);
    const client = await f.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const bumped = await client.query<{ last_sequence: number }>(
        'UPDATE game.sessions SET last_sequence = last_sequence + $2 WHERE id = $1 RETURNING last_sequence',
        [session, batch],
      );
      const last = bumped.rows[0]?.last_sequence;
      if (last === undefined) throw new Error(`session ${session} not found`);
      const data = pick(batches, worker + iteration * f.clients);
      await client.query(sql, insertParams(f, session, last - batch + 1, data));
      await client.query('COMMIT');
      return { ok: true };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  };
}

/** One INSERT in autocommit, sequences from a counter per session kept here. */
function rawInsertCall(f: Fixture): WorkerCall {
  const batches = dataBatches(f, 1);
  const sql = insertSql(1);
  const next = new Array<number>(f.sessionIds.length).fill(1);
  return async function insertRaw(worker, iteration): Promise<CallOutcome> {
    const index = sessionIndex(worker, iteration, f.clients, f.sessionIds.length);
    const sequence = next[index] ?? 1;
    next[index] = sequence + 1;
    const data = pick(batches, worker + iteration * f.clients);
    await f.pool.query(sql, insertParams(f, pick(f.sessionIds, index), sequence, data));
    return { ok: true };
  };
}

export function makeCall(scenario: Scenario, fixture: Fixture): WorkerCall {
  switch (scenario.kind) {
    case 'agate':
      return agateCall(fixture, scenario.batch, scenario.id.endsWith('-ids'));
    case 'http':
      return httpCall(fixture, scenario.batch);
    case 'raw-txn':
      return rawTxnCall(fixture, scenario.batch);
    case 'raw-insert':
      return rawInsertCall(fixture);
  }
}
