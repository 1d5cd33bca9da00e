import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent, Session } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { rebuildSnapshots } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames });
  tenantId = (await createTenant(db.pool, { name: 'rebuild', actor: 'test' })).id;
});
afterAll(async () => {
  await agate.close();
  await db.drop();
});

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const note: NewEvent = { type: 'note.written', data: { text: 'day' } };

/** 120 events with a day boundary at 70: snapshots at 50, 70 and 100. */
async function session(): Promise<Session> {
  const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
  const events = Array.from({ length: 120 }, (_, i) => (i === 69 ? note : inc(i)));
  expect((await agate.store.appendEvents({ tenantId, sessionId: s.id, events })).ok).toBe(true);
  await agate.idle();
  return agate.store.getSession({ tenantId, sessionId: s.id });
}

async function tamper(sql: string, values: unknown[]): Promise<void> {
  await agate.idle();
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(sql, values);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function stored(sessionId: string): Promise<[number, string, string][]> {
  await agate.idle();
  const r = await db.pool.query<{ sequence: number; reason: string; hash: string }>(
    `SELECT sequence, reason, encode(state_hash, 'hex') AS hash FROM game.snapshots
      WHERE session_id = $1 ORDER BY sequence`,
    [sessionId],
  );
  return r.rows.map((row) => [row.sequence, row.reason, row.hash]);
}

const actor = 'test-operator';

describe('rebuildSnapshots', () => {
  it('deletes the bad snapshots and writes them again from the log, after which verify holds', async () => {
    const s = await session();
    const before = await stored(s.id);
    expect(before.map(([sequence, reason]) => [sequence, reason])).toEqual([
      [50, 'interval'],
      [70, 'day_boundary'],
      [100, 'interval'],
    ]);
    await tamper(
      `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '-1') WHERE session_id = $1 AND sequence = 50`,
      [s.id],
    );
    await tamper(
      `UPDATE game.snapshots SET state_hash = '\\x00' WHERE session_id = $1 AND sequence = 100`,
      [s.id],
    );
    await tamper('DELETE FROM game.snapshots WHERE session_id = $1 AND sequence = 70', [s.id]);
    expect((await agate.replay({ tenantId, sessionId: s.id, verify: true })).verified).toBe(false);
    const result = await rebuildSnapshots(agate, { tenantId, sessionId: s.id, actor });
    expect(result).toMatchObject({
      sessionId: s.id,
      lastSequence: 120,
      deleted: [
        { sequence: 50, reason: 'interval', problem: 'corrupt' },
        { sequence: 100, reason: 'interval', problem: 'corrupt' },
      ],
      kept: 0,
    });
    expect(result.written.map((w) => [w.sequence, w.reason])).toEqual([
      [50, 'interval'],
      [70, 'day_boundary'],
      [100, 'interval'],
    ]);
    expect(await stored(s.id)).toEqual(before);
    const verified = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(verified).toMatchObject({ verified: true, divergences: [] });
  });

  it('keeps sound snapshots unless asked for all, and records what it did in the audit log', async () => {
    const s = await session();
    await agate.snapshot({ tenantId, sessionId: s.id });
    const quiet = await rebuildSnapshots(agate, { tenantId, sessionId: s.id, actor });
    expect(quiet).toMatchObject({ deleted: [], written: [], kept: 4 });
    const all = await rebuildSnapshots(agate, { tenantId, sessionId: s.id, all: true, actor });
    expect(all.deleted.map((d) => [d.sequence, d.problem])).toEqual([
      [50, 'asked'],
      [70, 'asked'],
      [100, 'asked'],
      [120, 'asked'],
    ]);
    expect(all.written.map((w) => [w.sequence, w.reason])).toEqual([
      [50, 'interval'],
      [70, 'day_boundary'],
      [100, 'interval'],
      [120, 'manual'],
    ]);
    const audit = await db.pool.query<{ actor: string; details: Record<string, unknown> }>(
      `SELECT actor, details FROM admin.audit_log
        WHERE action = 'snapshots.rebuilt' AND subject = $1 ORDER BY id`,
      [s.id],
    );
    expect(audit.rows.map((r) => [r.actor, r.details.all, r.details.kept])).toEqual([
      [actor, false, 4],
      [actor, true, 0],
    ]);
    expect(audit.rows[1]?.details.deleted).toHaveLength(4);
  });

  it('replaces a snapshot rewritten with a matching hash, and one beyond the last sequence', async () => {
    const s = await session();
    await tamper(
      `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '-1'), state_hash = '\\x01'
        WHERE session_id = $1 AND sequence = 70`,
      [s.id],
    );
    const forged = (await agate.replay({ tenantId, sessionId: s.id, to: 100 })).state as {
      total: number;
    };
    const { hashCanonical } = await import('../../src/hashing/index.js');
    const wrong = { ...forged, total: forged.total + 1 };
    await tamper(
      'UPDATE game.snapshots SET state = $2, state_hash = $3 WHERE session_id = $1 AND sequence = 100',
      [s.id, JSON.stringify(wrong), hashCanonical(wrong)],
    );
    await tamper(
      `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
       SELECT gen_random_uuid(), tenant_id, session_id, 500, rules_version, state, state_hash, 'manual'
         FROM game.snapshots WHERE session_id = $1 AND sequence = 50`,
      [s.id],
    );
    const result = await rebuildSnapshots(agate, { tenantId, sessionId: s.id, actor });
    expect(result.deleted.map((d) => [d.sequence, d.problem])).toEqual([
      [70, 'corrupt'],
      [100, 'disagrees'],
      [500, 'beyond_end'],
    ]);
    expect(result.kept).toBe(1);
    const verified = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(verified).toMatchObject({ verified: true, divergences: [] });
  });

  it('refuses a damaged log and changes nothing', async () => {
    const s = await session();
    await tamper(
      `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '-1') WHERE session_id = $1 AND sequence = 50`,
      [s.id],
    );
    await tamper(
      `UPDATE game.events SET event_data = '{"by": 1000}' WHERE session_id = $1 AND sequence = 110`,
      [s.id],
    );
    const before = await stored(s.id);
    await expect(
      rebuildSnapshots(agate, { tenantId, sessionId: s.id, all: true, actor }),
    ).rejects.toMatchObject({
      code: 'integrity_violation',
      details: { kind: 'chain', sequence: 110 },
    });
    expect(await stored(s.id)).toEqual(before);
    await tamper('UPDATE game.sessions SET head_hash = $2 WHERE id = $1', [
      s.id,
      Buffer.from('00', 'hex'),
    ]);
    await tamper(
      `UPDATE game.events SET event_data = '{"by": 109}' WHERE session_id = $1 AND sequence = 110`,
      [s.id],
    );
    await expect(
      rebuildSnapshots(agate, { tenantId, sessionId: s.id, actor }),
    ).rejects.toMatchObject({
      code: 'integrity_violation',
      details: { kind: 'head', sequence: 120 },
    });
  });

  it("cannot reach another tenant's session: not found, nothing deleted", async () => {
    const s = await session();
    const other = (await createTenant(db.pool, { name: 'other', actor: 'test' })).id;
    const before = await stored(s.id);
    await expect(
      rebuildSnapshots(agate, { tenantId: other, sessionId: s.id, all: true, actor }),
    ).rejects.toMatchObject({ code: 'session_not_found' });
    expect(await stored(s.id)).toEqual(before);
  });
});
