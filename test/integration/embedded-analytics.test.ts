import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readAnalyticsEvents,
  streamAnalyticsEvents,
  writeAnalyticsRows,
} from '../../src/analytics/index.js';
import type { AnalyticsRow } from '../../src/analytics/index.js';
import { migrate, openEmbeddedPool, withTenant } from '../../src/db/index.js';
import type { EmbeddedPool } from '../../src/db/index.js';
import { readFeed } from '../../src/events/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';

// The embedded default (PGlite, PostgreSQL 18) runs the same consumer where no worker runs:
// the migration, the sources statement, the insert and the reads must work there too.
let pool: EmbeddedPool;
let agate: Agate;
let tenantId: string;
let sessionId: string;

beforeAll(async () => {
  pool = await openEmbeddedPool({});
  const client = await pool.connectClient();
  try {
    await migrate(client);
  } finally {
    await client.end();
  }
  agate = createAgate({ pool, games: defaultGames });
  tenantId = (await createTenant(pool, { name: 'embedded analytics', actor: 'test' })).id;
  sessionId = (await agate.store.createSession({ tenantId, rules: 'archive-gate', seed: 'e' })).id;
  await agate.store.appendEvents({
    tenantId,
    sessionId,
    events: [
      { type: 'day.started', version: 1, data: {} },
      { type: 'request.decided', version: 1, data: { requestId: 'd1-r1', approved: false } },
      { type: 'request.decided', version: 2, data: { requestId: 'd1-r2', decision: 'flag' } },
      { type: 'request.investigated', version: 1, data: { requestId: 'd1-r3' } },
      { type: 'defense.purchased', version: 1, data: { defense: 'firewall' } },
      { type: 'day.ended', version: 1, data: {} },
    ],
  });
  await agate.store.endSession({ tenantId, sessionId, reason: 'over' });
  // One transaction at a time on PGlite: nothing else holds the feed back.
  const page = await readFeed(agate.store.deps, { tenantId, limit: 1000 });
  expect(page.events).toHaveLength(7);
  await withTenant(pool, { tenantId }, (tx) => writeAnalyticsRows(tx, defaultGames, page.events));
});
afterAll(() => pool?.close());

describe('analytics.events on the embedded database', () => {
  it('holds archive-gate’s declared fields for each event, v1 decisions upcast', async () => {
    const page = await readAnalyticsEvents(pool, { tenantId, sessionId });
    expect(page.next).toBeNull();
    expect(page.events.map((e) => [e.sequence, e.type, e.fields])).toEqual([
      [1, 'day.started', {}],
      [2, 'request.decided', { requestId: 'd1-r1', day: 1, decision: 'deny' }],
      [3, 'request.decided', { requestId: 'd1-r2', day: 1, decision: 'flag' }],
      [4, 'request.investigated', { requestId: 'd1-r3', day: 1 }],
      [5, 'defense.purchased', { defense: 'firewall' }],
      [6, 'day.ended', {}],
      [7, 'session.ended', { reason: 'over' }],
    ]);
    expect(page.events.every((e) => e.rules === 'archive-gate' && e.rulesVersion === 1)).toBe(true);
  });

  it('pages and streams the same rows, and shows another tenant none', async () => {
    const all = (await readAnalyticsEvents(pool, { tenantId })).events;
    const first = await readAnalyticsEvents(pool, { tenantId, limit: 4 });
    const rest = await readAnalyticsEvents(pool, { tenantId, limit: 4, after: first.next });
    expect([...first.events, ...rest.events]).toEqual(all);
    expect(rest.next).toBeNull();
    const streamed: AnalyticsRow[] = [];
    for await (const row of streamAnalyticsEvents(pool, { tenantId, limit: 2 })) streamed.push(row);
    expect(streamed).toEqual(all);
    const other = (await createTenant(pool, { name: 'other', actor: 'test' })).id;
    expect((await readAnalyticsEvents(pool, { tenantId: other })).events).toEqual([]);
  });
});
