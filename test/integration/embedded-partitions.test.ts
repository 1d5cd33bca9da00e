import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMonths,
  formatMonth,
  maintainPartitions,
  monthOf,
  partitionStatus,
} from '../../partitions/index.js';
import { migrate, openEmbeddedPool } from '../../src/db/index.js';
import type { EmbeddedPool } from '../../src/db/index.js';
import { runNightly } from '../../src/jobs/nightly/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { tinyGames } from '../support/tiny-rules.js';

const now = new Date();
const later = (months: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15));
const monthNames = (table: string, from: number, to: number) =>
  Array.from(
    { length: to - from + 1 },
    (_, i) => `${table}_p${formatMonth(addMonths(monthOf(now), from + i)).replace('-', '_')}`,
  );

let pool: EmbeddedPool;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  pool = await openEmbeddedPool({});
  const client = await pool.connectClient();
  try {
    await migrate(client);
  } finally {
    await client.end();
  }
  // No inline snapshots: the nightly run must find and write them itself.
  agate = createAgate({ pool, games: tinyGames, consumers: false });
  tenantId = (await createTenant(pool, { name: 'parts', actor: 'test' })).id;
});
afterAll(() => pool?.close());

describe('the native partition backend on the embedded pool', () => {
  it('keeps the window from one month back to three ahead, and a second run changes nothing', async () => {
    const first = await maintainPartitions(pool.url, { now, backend: 'native' });
    expect(first.ran).toBe(true);
    const status = await partitionStatus(pool.url, { now });
    for (const t of status.tables) {
      const table = t.table.split('.')[1] ?? '';
      expect(t.partitions.map((p) => p.name).sort()).toEqual(
        [`${table}_default`, ...monthNames(table, -1, 3)].sort(),
      );
      expect(t).toMatchObject({ backend: 'native', monthsAhead: 3, gaps: [], warnings: [] });
    }
    const second = await maintainPartitions(pool.url, { now, backend: 'native' });
    expect(
      second.ran &&
        second.tables.every((t) => t.created.length + t.detached.length + t.moved.length === 0),
    ).toBe(true);
  });

  it('moves rows that landed in the default partition into their month, losing nothing', async () => {
    const session = await agate.store.createSession({ tenantId, rules: 'tiny' });
    await appendAt(pool, session, later(7), tinyEvents(5));
    const before = await partitionStatus(pool.url, { now });
    expect(before.tables[0]?.defaultPartition.rows).toBe(5);
    const report = await maintainPartitions(pool.url, { now, backend: 'native' });
    expect(report.ran && report.tables[0]?.moved).toEqual([
      { month: formatMonth(monthOf(later(7))), rows: 5 },
    ]);
    const after = await partitionStatus(pool.url, { now });
    expect(after.tables[0]).toMatchObject({ defaultPartition: { rows: 0 }, gaps: [] });
    const replay = await agate.replay({ tenantId, sessionId: session.id, verify: true });
    expect(replay).toMatchObject({ verified: true, sequence: 5 });
  });
});

describe('the nightly run on the embedded pool', () => {
  it('snapshots, audits and anchors the sessions that moved yesterday', async () => {
    const session = await agate.store.createSession({ tenantId, rules: 'tiny' });
    await appendAt(pool, session, new Date(Date.now() - 86_400_000), tinyEvents(120));
    const result = await runNightly(agate, pool.url);
    expect(result.ran).toBe(true);
    if (!result.ran) return;
    expect(result.summary.partitions?.ran).toBe(true);
    expect(result.summary.daySnapshots.targets).toBeGreaterThan(0);
    expect(result.summary.audit.divergences).toEqual([]);
    expect(result.summary.anchors.recorded).toBeGreaterThan(0);
    const snaps = await pool.query<{ sequence: number }>(
      'SELECT sequence FROM game.snapshots WHERE session_id = $1 ORDER BY sequence',
      [session.id],
    );
    expect(snaps.rows.map((s) => s.sequence)).toEqual([50, 100, 120]);
  });

  it('does not refuse a second run while one holds the lock (one session: locks are re-entrant)', async () => {
    const holder = await pool.connectClient();
    try {
      await holder.query("SELECT pg_advisory_lock('7163020553791425002')");
      // On a server this returns { ran: false, reason: 'locked' }.
      const second = await runNightly(agate, pool.url);
      expect(second.ran).toBe(true);
      if (second.ran) expect(second.summary.anchors.recorded).toBe(0);
    } finally {
      await holder.end();
    }
  });
});

describe('retention on the embedded pool', () => {
  it('keeps archived months replayable, and names a month once it is dropped', async () => {
    const session = await agate.store.createSession({ tenantId, rules: 'tiny', seed: 'kept' });
    await appendAt(pool, session, later(1), tinyEvents(10));
    await appendAt(pool, session, later(4), tinyEvents(10));
    const live = await agate.replay({ tenantId, sessionId: session.id, trace: true });
    const report = await maintainPartitions(pool.url, {
      now: later(5),
      backend: 'native',
      retentionMonths: 2,
    });
    expect(report.ran && report.tables[0]?.detached).toContain(monthNames('events', 1, 1)[0]);
    for (let to = 1; to <= 20; to += 1) {
      const r = await agate.replay({ tenantId, sessionId: session.id, to, from: 'genesis' });
      expect([to, r.stateHash]).toEqual([to, live.trace?.[to - 1]?.stateHash]);
    }
    expect(await agate.replay({ tenantId, sessionId: session.id, verify: true })).toMatchObject({
      verified: true,
      divergences: [],
    });
    await pool.query(`DROP TABLE archive.${monthNames('events', 1, 1)[0] ?? ''}`);
    await expect(agate.replay({ tenantId, sessionId: session.id })).rejects.toMatchObject({
      code: 'integrity_violation',
      details: {
        kind: 'missing',
        sequence: 1,
        lastMissing: 10,
        goneMonths: [formatMonth(monthOf(later(1)))],
      },
    });
  });
});
