import { uuidv7 } from 'uuidv7';
import type { Transport } from '../../src/client/http-transport.js';
import type { Pool } from '../../src/db/index.js';
import type { GateEventInput } from '../../src/game/index.js';
import { gatePlan } from './gate-traffic.js';
import {
  advisorySql,
  analyticsInsertSql,
  bumpSql,
  fixedHash,
  insertSql,
} from './minimal-append.js';
import { sessionIndex } from './run-workers.js';
import type { CallOutcome, WorkerCall } from './run-workers.js';

export type ScenarioKind =
  | 'minimal'
  | 'minimal-advisory'
  | 'minimal-analytics'
  | 'raw-txn'
  | 'http-floor'
  | 'library'
  | 'http';
export type Scenario = {
  id: string;
  label: string;
  kind: ScenarioKind;
  /** Events per session per call. */
  batch: number;
  /** Sessions per call (HTTP: > 1 is one `POST /v1/appends`). */
  lanes: number;
  /** HTTP only: REDIS_URL set and an `agate worker` beside `agate serve`. */
  redis: boolean;
};

function s(
  id: string,
  label: string,
  kind: ScenarioKind,
  batch: number,
  extra: Partial<Scenario> = {},
): Scenario {
  return { id, label, kind, batch, lanes: 1, redis: false, ...extra };
}

export const scenarios: readonly Scenario[] = [
  s('minimal-1', 'minimal correct append, 1 event', 'minimal', 1),
  s('minimal-10', 'minimal correct append, 10 events', 'minimal', 10),
  s('minimal-50', 'minimal correct append, 50 events', 'minimal', 50),
  s('minimal-lock-1', 'minimal correct + advisory lock, 1 event', 'minimal-advisory', 1),
  s('minimal-lock-10', 'minimal correct + advisory lock, 10 events', 'minimal-advisory', 10),
  s('minimal-analytics-1', 'minimal correct + its analytics rows, 1 event', 'minimal-analytics', 1),
  s(
    'minimal-analytics-50',
    'minimal correct + its analytics rows, 50 events',
    'minimal-analytics',
    50,
  ),
  s('raw-txn-1', 'old raw txn, unnamed statements, 1 event', 'raw-txn', 1),
  s('http-floor-1', 'HTTP floor: node:http + minimal append, 1 event', 'http-floor', 1),
  s('http-floor-10', 'HTTP floor: node:http + minimal append, 10 events', 'http-floor', 10),
  s('library-1', 'library append, 1 event', 'library', 1),
  s('library-10', 'library append, 10 events', 'library', 10),
  s('library-50', 'library append, 50 events', 'library', 50),
  s('http-1', 'HTTP, no Redis, 1 event', 'http', 1),
  s('http-10', 'HTTP, no Redis, 10 events', 'http', 10),
  s('http-many', 'HTTP, no Redis, 50 sessions x 1 event', 'http', 1, { lanes: 50 }),
  s('http-redis-1', 'HTTP + Redis + worker, 1 event', 'http', 1, { redis: true }),
  s('http-redis-10', 'HTTP + Redis + worker, 10 events', 'http', 10, { redis: true }),
  s('http-redis-many', 'HTTP + Redis + worker, 50 sessions x 1 event', 'http', 1, {
    lanes: 50,
    redis: true,
  }),
];

/** Which minimal correct append each row is compared with (same clients, same run). */
export const baselineOf: Readonly<Record<string, string>> = {
  'minimal-lock-1': 'minimal-1',
  'minimal-lock-10': 'minimal-10',
  'minimal-analytics-1': 'minimal-1',
  'minimal-analytics-50': 'minimal-50',
  'raw-txn-1': 'minimal-1',
  'http-floor-1': 'minimal-1',
  'http-floor-10': 'minimal-10',
  'library-1': 'minimal-1',
  'library-10': 'minimal-10',
  'library-50': 'minimal-50',
  'http-1': 'minimal-1',
  'http-10': 'minimal-10',
  // 50 sessions x 1 event is held to the 10-event append's events/s (issue 18).
  'http-many': 'minimal-10',
  'http-redis-1': 'minimal-1',
  'http-redis-10': 'minimal-10',
  'http-redis-many': 'minimal-10',
};

/** What the minimal rows need: sessions made beforehand, and the pool they append on. */
export type MinimalFixture = {
  pool: Pool;
  tenantId: string;
  sessionIds: readonly string[];
  clients: number;
};

function pick<T>(items: readonly T[], index: number): T {
  const item = items[index % items.length];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** Consecutive slices of the same bot plans the HTTP and library rows play: [type, data JSON]. */
function gateBatches(batch: number): Array<Array<[string, string]>> {
  const out: Array<Array<[string, string]>> = [];
  for (let n = 0; n < 16; n += 1) {
    const { plan } = gatePlan('bench', n);
    for (let at = 0; at + batch <= plan.length; at += batch) {
      out.push(
        plan
          .slice(at, at + batch)
          .map((e: GateEventInput): [string, string] => [e.type, JSON.stringify(e.data)]),
      );
    }
  }
  return out;
}

/**
 * The minimal correct append: BEGIN; lock the session row (UPDATE ... RETURNING bumps its
 * sequence); INSERT the batch; COMMIT, as the owner (no RLS). `named` uses named prepared
 * statements (parsed once per connection), as a hand-written server would; `advisory` first
 * takes the session's advisory lock as game.append_events does, to price that lock; `analytics`
 * also inserts the batch's analytics.events rows in the same transaction, the cheapest derived
 * work possible (what any design that keeps those rows must at least spend).
 */
function minimalCall(
  f: MinimalFixture,
  batch: number,
  named: boolean,
  advisory: boolean,
  analytics: boolean,
): WorkerCall {
  const batches = gateBatches(batch);
  const text = insertSql(batch);
  const analyticsText = analyticsInsertSql(batch);
  const q = (name: string, sql: string, values: unknown[]) =>
    named ? { name: `bench-${name}`, text: sql, values } : { text: sql, values };
  return async function appendMinimal(worker, iteration): Promise<CallOutcome> {
    const session = pick(
      f.sessionIds,
      sessionIndex(worker, iteration, f.clients, f.sessionIds.length),
    );
    const client = await f.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      if (advisory) await client.query(q('advisory', advisorySql, [session]));
      const bumped = await client.query<{ last_sequence: number }>(
        q('bump', bumpSql, [session, batch]),
      );
      const last = bumped.rows[0]?.last_sequence;
      if (last === undefined) throw new Error(`session ${session} not found`);
      const values: unknown[] = [f.tenantId, session, last - batch + 1, fixedHash];
      for (const [type, data] of pick(batches, worker + iteration * f.clients)) {
        values.push(uuidv7(), type, data);
      }
      await client.query(q(`insert-${batch}`, text, values));
      if (analytics) {
        const derived = [...values.slice(0, 3), ...values.slice(4).filter((_, k) => k % 3 !== 2)];
        await client.query(q(`analytics-${batch}`, analyticsText, derived));
      }
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

export function makeMinimalCall(scenario: Scenario, fixture: MinimalFixture): WorkerCall {
  return minimalCall(
    fixture,
    scenario.batch,
    scenario.kind !== 'raw-txn',
    scenario.kind === 'minimal-advisory',
    scenario.kind === 'minimal-analytics',
  );
}

/**
 * The HTTP floor's load: the same payloads as the minimal rows, one `POST /append/<session>` per
 * call over the typed client's own transport (node:http, keep-alive), each body serialised per call
 * as the client serialises its own.
 */
export function makeFloorCall(
  scenario: Scenario,
  fixture: Omit<MinimalFixture, 'pool' | 'tenantId'> & { url: string; transport: Transport },
): WorkerCall {
  const batches = gateBatches(scenario.batch).map((batch) =>
    batch.map(([type, data]) => ({ type, data: JSON.parse(data) as unknown })),
  );
  return async function appendOverHttp(worker, iteration): Promise<CallOutcome> {
    const session = pick(
      fixture.sessionIds,
      sessionIndex(worker, iteration, fixture.clients, fixture.sessionIds.length),
    );
    const events = pick(batches, worker + iteration * fixture.clients);
    const answer = await fixture.transport({
      method: 'POST',
      url: `${fixture.url}/append/${session}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    return answer.status === 200 ? { ok: true } : { ok: false, error: answer.text };
  };
}
