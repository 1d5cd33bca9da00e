import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { foldAll } from '../../replay/index.js';
import type { NewEvent, Session } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { writeSnapshot } from '../../src/snapshots/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { allEvents } from '../support/store-fixture.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames, tinyRules } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames });
  tenantId = (await createTenant(db.pool, { name: 'replay', actor: 'test' })).id;
});
afterAll(async () => {
  await agate.close();
  await db.drop();
});

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const roll = (): NewEvent => ({ type: 'dice.rolled', data: { sides: 20 } });

async function sessionWith(count: number, batch = 7): Promise<Session> {
  const s = await agate.store.createSession({ tenantId, rules: 'tiny', seed: `seed-${count}` });
  for (let done = 0; done < count; done += batch) {
    const events = Array.from({ length: Math.min(batch, count - done) }, (_, i) =>
      (done + i) % 3 === 0 ? roll() : inc(done + i),
    );
    const r = await agate.store.appendEvents({ tenantId, sessionId: s.id, events });
    expect(r.ok).toBe(true);
  }
  await agate.idle();
  return agate.store.getSession({ tenantId, sessionId: s.id });
}

async function snapshotsOf(sessionId: string): Promise<{ sequence: number; reason: string }[]> {
  await agate.idle();
  const r = await db.pool.query<{ sequence: number; reason: string }>(
    'SELECT sequence, reason FROM game.snapshots WHERE session_id = $1 ORDER BY sequence',
    [sessionId],
  );
  return r.rows;
}

describe('replay', () => {
  it('gives the same state and hash from genesis, from snapshots and as a pure fold', async () => {
    const s = await sessionWith(180);
    const events = await allEvents(agate.store, s);
    const pure = foldAll(tinyRules, { ...s, sessionId: s.id }, events);
    const genesis = await agate.replay({ tenantId, sessionId: s.id, from: 'genesis' });
    const snap = await agate.replay({ tenantId, sessionId: s.id });
    expect(genesis.stateHash).toBe(pure.stateHash);
    expect(snap.stateHash).toBe(pure.stateHash);
    expect(snap.snapshotUsed).toEqual({ sequence: 150, reason: 'interval' });
    expect(snap.eventsReplayed).toBe(30);
    expect(genesis.snapshotUsed).toBeNull();
    expect(genesis.sequence).toBe(180);
  });

  it('writes a snapshot at every 50th event and after each day boundary event, once', async () => {
    const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
    await agate.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: Array.from({ length: 49 }, (_, i) => inc(i)),
    });
    await agate.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: [inc(1), { type: 'note.written', data: { text: 'day' } }, inc(2)],
    });
    await agate.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: Array.from({ length: 60 }, (_, i) => inc(i)),
    });
    expect(await snapshotsOf(s.id)).toEqual([
      { sequence: 50, reason: 'interval' },
      { sequence: 51, reason: 'day_boundary' },
      { sequence: 100, reason: 'interval' },
    ]);
    const again = await agate.snapshot({ tenantId, sessionId: s.id });
    expect(again).toMatchObject({ sequence: 112, created: true });
    expect((await agate.snapshot({ tenantId, sessionId: s.id })).created).toBe(false);
  });

  it('replays to any sequence, from the newest snapshot at or below it', async () => {
    const s = await sessionWith(120);
    const events = await allEvents(agate.store, s);
    for (const to of [0, 1, 49, 50, 51, 99, 100, 119]) {
      const expected = foldAll(tinyRules, { ...s, sessionId: s.id }, events.slice(0, to));
      const got = await agate.replay({ tenantId, sessionId: s.id, to });
      expect(got.stateHash, `to ${to}`).toBe(expected.stateHash);
      expect(got.sequence).toBe(to);
      expect(got.snapshotUsed?.sequence ?? 0).toBe(Math.floor(to / 50) * 50);
    }
    await expect(agate.replay({ tenantId, sessionId: s.id, to: 121 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('traces the state hash after every event', async () => {
    const s = await sessionWith(12);
    const r = await agate.replay({ tenantId, sessionId: s.id, trace: 'state', from: 'genesis' });
    expect(r.trace).toHaveLength(12);
    expect(r.trace?.at(-1)?.stateHash).toBe(r.stateHash);
    expect(r.trace?.[0]).toMatchObject({ sequence: 1, type: 'dice.rolled' });
    expect(r.trace?.[0]?.state).toBeDefined();
  });

  it('verifies a clean session: every snapshot agrees and the head matches', async () => {
    const s = await sessionWith(110);
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r).toMatchObject({ verified: true, divergences: [], snapshotUsed: null, sequence: 110 });
  });

  it('streams a session of several pages the same from genesis, from a snapshot and with verify', async () => {
    const s = await sessionWith(4_321, 500);
    const events = await allEvents(agate.store, s);
    const session = { ...s, sessionId: s.id };
    const pure = foldAll(tinyRules, session, events);
    const genesis = await agate.replay({ tenantId, sessionId: s.id, from: 'genesis' });
    expect(genesis).toMatchObject({ stateHash: pure.stateHash, eventsReplayed: 4_321 });
    const snap = await agate.replay({ tenantId, sessionId: s.id });
    expect(snap.stateHash).toBe(pure.stateHash);
    expect(snap.snapshotUsed?.sequence).toBeGreaterThan(4_000);
    for (const to of [1_999, 2_000, 2_001, 4_000]) {
      const expected = foldAll(tinyRules, session, events.slice(0, to)).stateHash;
      const got = await agate.replay({ tenantId, sessionId: s.id, to, from: 'genesis' });
      expect(got.stateHash, `to ${to}`).toBe(expected);
    }
    const verified = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(verified).toMatchObject({ verified: true, divergences: [], stateHash: pure.stateHash });
  });

  it('continues past the first page read with the snapshot when the tail is longer', async () => {
    // A database of its own: this file's in-process consumers would snapshot the session every
    // 50 events, and the test needs the one snapshot far below the tail.
    const own = await createTestDatabase();
    onTestFinished(() => own.drop());
    const manual = createAgate({ pool: own.pool, games: tinyGames, consumers: false });
    const ownTenant = (await createTenant(own.pool, { name: 'long-tail', actor: 'test' })).id;
    const s = await manual.store.createSession({
      tenantId: ownTenant,
      rules: 'tiny',
      seed: 'long-tail',
    });
    const ref = { tenantId: ownTenant, sessionId: s.id };
    const append = async (count: number) => {
      for (let done = 0; done < count; done += 500) {
        const events = Array.from({ length: Math.min(500, count - done) }, (_, i) => inc(i));
        expect((await manual.store.appendEvents({ ...ref, events })).ok).toBe(true);
      }
    };
    await append(100);
    expect((await manual.snapshot(ref)).sequence).toBe(100);
    await append(2_500);
    for (const to of [2_099, 2_100, 2_101, 2_600]) {
      const genesis = await manual.replay({ ...ref, to, from: 'genesis' });
      const got = await manual.replay({ ...ref, to });
      expect(got.snapshotUsed?.sequence, `to ${to}`).toBe(100);
      expect(got.eventsReplayed).toBe(to - 100);
      expect(got.stateHash).toBe(genesis.stateHash);
    }
  });

  it("is another tenant's business: replay says not found", async () => {
    const s = await sessionWith(3);
    const other = (await createTenant(db.pool, { name: 'other', actor: 'test' })).id;
    await expect(agate.replay({ tenantId: other, sessionId: s.id })).rejects.toMatchObject({
      code: 'session_not_found',
    });
  });
});

/** Changes the store behind its back, as a superuser with triggers off would. */
async function tamper(sql: string, values: unknown[], rows = 1): Promise<void> {
  await tamperAll([[sql, values, rows]]);
}

/** Several changes behind the store's back in one transaction, each changing `rows` rows. */
async function tamperAll(changes: [sql: string, values: unknown[], rows: number][]): Promise<void> {
  await agate.idle();
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    for (const [sql, values, rows] of changes) {
      const r = await client.query(sql, values);
      expect(r.rowCount).toBe(rows);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

describe('tampering', () => {
  it('an event changed behind the store is reported at its sequence', async () => {
    const s = await sessionWith(80);
    await tamper(
      `UPDATE game.events SET event_data = '{"by": 1000}' WHERE session_id = $1 AND sequence = 38`,
      [s.id],
    );
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.divergences[0]).toMatchObject({
      kind: 'chain',
      sequence: 38,
      event: { type: 'counter.incremented' },
    });
    await expect(
      agate.replay({ tenantId, sessionId: s.id, from: 'genesis' }),
    ).rejects.toMatchObject({
      code: 'integrity_violation',
      message: expect.stringMatching(/Event 38 \(counter\.incremented/) as unknown,
    });
  });

  it('an event removed from the middle is missing: replay names it, verify reports its range', async () => {
    const s = await sessionWith(30);
    await tamper('DELETE FROM game.events WHERE session_id = $1 AND sequence = 12', [s.id]);
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.sequence).toBe(11);
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'missing', sequence: 12, lastMissing: 12, goneMonths: [] }),
    ]);
    await expect(agate.replay({ tenantId, sessionId: s.id })).rejects.toMatchObject({
      code: 'integrity_violation',
      message: expect.stringMatching(
        /^Event 12 of session .* is missing .* deleted behind/,
      ) as unknown,
      details: { kind: 'missing', sequence: 12, lastMissing: 12 },
    });
  });

  it('events removed from the end are missing: no replay stops short of its target', async () => {
    const s = await sessionWith(60);
    await tamper('DELETE FROM game.events WHERE session_id = $1 AND sequence > 52', [s.id], 8);
    const tail = {
      code: 'integrity_violation',
      details: { kind: 'missing', sequence: 53, lastMissing: 60 },
    };
    for (const from of ['snapshot', 'genesis'] as const)
      await expect(agate.replay({ tenantId, sessionId: s.id, from })).rejects.toMatchObject(tail);
    await expect(agate.replay({ tenantId, sessionId: s.id, to: 55 })).rejects.toMatchObject({
      details: { kind: 'missing', sequence: 53, lastMissing: 55 },
    });
    expect((await agate.replay({ tenantId, sessionId: s.id, to: 52 })).sequence).toBe(52);
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'missing', sequence: 53, lastMissing: 60, event: null }),
    ]);
    await expect(
      agate.store.readEvents({ tenantId, sessionId: s.id, after: 50 }),
    ).rejects.toMatchObject(tail);
  });

  it('events deleted up to the newest snapshot are missing too: that snapshot is passed over', async () => {
    const s = await sessionWith(60);
    await tamper(
      'DELETE FROM game.events WHERE session_id = $1 AND sequence BETWEEN 41 AND 50',
      [s.id],
      10,
    );
    await expect(agate.replay({ tenantId, sessionId: s.id })).rejects.toMatchObject({
      code: 'integrity_violation',
      details: { kind: 'missing', sequence: 41, lastMissing: 50 },
    });
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'missing', sequence: 41, lastMissing: 50 }),
    ]);
  });

  it('a session whose events are all gone is missing every one, whatever the replay starts from', async () => {
    const s = await sessionWith(55);
    await tamper('DELETE FROM game.events WHERE session_id = $1', [s.id], 55);
    for (const from of ['genesis', 'snapshot'] as const)
      await expect(agate.replay({ tenantId, sessionId: s.id, from })).rejects.toMatchObject({
        code: 'integrity_violation',
        details: { kind: 'missing', sequence: 1, lastMissing: 55 },
      });
  });

  it('the snapshotter refuses to save a state short of its target, and saves nothing', async () => {
    const s = await sessionWith(30);
    await tamper('DELETE FROM game.events WHERE session_id = $1 AND sequence > 24', [s.id], 6);
    const deps = { pool: db.pool, store: agate.store, games: tinyGames };
    await expect(
      writeSnapshot(deps, { tenantId, sessionId: s.id, sequence: 30, reason: 'manual' }),
    ).rejects.toMatchObject({
      code: 'integrity_violation',
      details: { kind: 'missing', sequence: 25, lastMissing: 30 },
    });
    expect(await snapshotsOf(s.id)).toEqual([]);
  });

  it('a changed session head is reported by verify', async () => {
    const s = await sessionWith(5);
    await tamper(`UPDATE game.sessions SET head_hash = '\\x00' WHERE id = $1`, [s.id]);
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.divergences).toEqual([expect.objectContaining({ kind: 'head', sequence: 5 })]);
  });

  it('a snapshot whose state no longer hashes to its hash is reported and not used', async () => {
    const s = await sessionWith(120);
    await tamper(
      `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '0') WHERE session_id = $1 AND sequence = 100`,
      [s.id],
    );
    const honest = await agate.replay({ tenantId, sessionId: s.id, from: 'genesis' });
    const r = await agate.replay({ tenantId, sessionId: s.id });
    expect(r.snapshotUsed?.sequence).toBe(50);
    expect(r.stateHash).toBe(honest.stateHash);
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'snapshot_corrupt', sequence: 100 }),
    ]);
  });

  it('passes over every corrupt snapshot, newest first, down to genesis when none is sound', async () => {
    const s = await sessionWith(160);
    const honest = await agate.replay({ tenantId, sessionId: s.id, from: 'genesis' });
    const corrupt = (sequence: number) =>
      tamper(
        `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '0') WHERE session_id = $1 AND sequence = $2`,
        [s.id, sequence],
      );
    await corrupt(150);
    await corrupt(100);
    const below = await agate.replay({ tenantId, sessionId: s.id, to: 149 });
    expect(below.snapshotUsed).toEqual({ sequence: 50, reason: 'interval' });
    expect(below.divergences.map((d) => [d.kind, d.sequence])).toEqual([['snapshot_corrupt', 100]]);
    const older = await agate.replay({ tenantId, sessionId: s.id });
    expect(older).toMatchObject({ snapshotUsed: { sequence: 50 }, stateHash: honest.stateHash });
    expect(older.divergences.map((d) => [d.kind, d.sequence])).toEqual([
      ['snapshot_corrupt', 150],
      ['snapshot_corrupt', 100],
    ]);
    await corrupt(50);
    const none = await agate.replay({ tenantId, sessionId: s.id });
    expect(none).toMatchObject({ snapshotUsed: null, eventsReplayed: 160 });
    expect(none.stateHash).toBe(honest.stateHash);
    expect(none.divergences.map((d) => d.sequence)).toEqual([150, 100, 50]);
  });

  it('an event changed on a later page is reported there, with the next page in flight', async () => {
    const s = await sessionWith(4_500, 500);
    await tamper(
      `UPDATE game.events SET event_data = '{"by": 7}' WHERE session_id = $1 AND sequence = 3001`,
      [s.id],
    );
    await expect(
      agate.replay({ tenantId, sessionId: s.id, from: 'genesis' }),
    ).rejects.toMatchObject({
      code: 'integrity_violation',
      message: expect.stringMatching(/^Event 3001 /) as unknown,
    });
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.divergences[0]).toMatchObject({ kind: 'chain', sequence: 3001 });
    expect((await agate.replay({ tenantId, sessionId: s.id, to: 2_500 })).sequence).toBe(2_500);
  });

  it('a snapshot rewritten with a matching hash is caught by verify, with the paths that differ', async () => {
    const s = await sessionWith(60);
    const forged = {
      ...((await agate.replay({ tenantId, sessionId: s.id, to: 50 })).state as Record<
        string,
        unknown
      >),
      total: -1,
    };
    const { hashCanonical } = await import('../../src/hashing/index.js');
    await tamper(
      'UPDATE game.snapshots SET state = $2, state_hash = $3 WHERE session_id = $1 AND sequence = 50',
      [s.id, JSON.stringify(forged), hashCanonical(forged)],
    );
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'snapshot', sequence: 50, paths: ['$.total'] }),
    ]);
    expect(r.divergences[0]?.event?.eventId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

/** Records the session's head at a sequence as the nightly job does (an `anchor.recorded` entry). */
async function anchor(s: Session, sequence: number, headHash: string): Promise<void> {
  await db.pool.query(
    `INSERT INTO admin.audit_log (id, tenant_id, actor, action, subject, details)
     VALUES ($1, $2, 'nightly', 'anchor.recorded', $3, $4)`,
    [uuidv7(), s.tenantId, s.id, JSON.stringify({ sequence, headHash })],
  );
}

describe('verify checks every snapshot, link, anchor and the head', () => {
  it('says false for a snapshot whose state was edited with its hash kept, naming it corrupt', async () => {
    const s = await sessionWith(120);
    await tamper(
      `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '-5') WHERE session_id = $1 AND sequence = 50`,
      [s.id],
    );
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'snapshot_corrupt', sequence: 50, paths: ['$.total'] }),
    ]);
    expect(r.divergences[0]?.message).toContain(
      `agate snapshot rebuild ${s.id} --tenant ${tenantId}`,
    );
  });

  it('says false for a snapshot whose hash alone was edited', async () => {
    const s = await sessionWith(60);
    await tamper(
      `UPDATE game.snapshots SET state_hash = '\\x00' WHERE session_id = $1 AND sequence = 50`,
      [s.id],
    );
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'snapshot_corrupt', sequence: 50, paths: [] }),
    ]);
  });

  it('checks the whole session even when asked for the state at an earlier sequence', async () => {
    const s = await sessionWith(60);
    const honest = await agate.replay({ tenantId, sessionId: s.id, to: 20, from: 'genesis' });
    await tamper(
      `UPDATE game.events SET event_data = '{"by": 99}' WHERE session_id = $1 AND sequence = 40`,
      [s.id],
    );
    const r = await agate.replay({ tenantId, sessionId: s.id, to: 20, verify: true, trace: true });
    expect(r).toMatchObject({ verified: false, sequence: 20, stateHash: honest.stateHash });
    expect(r.trace).toHaveLength(20);
    expect(r.divergences).toEqual([expect.objectContaining({ kind: 'chain', sequence: 40 })]);
  });

  it('checks a snapshot at sequence 0 against the initial state', async () => {
    const s = await sessionWith(5);
    const written = await agate.snapshot({ tenantId, sessionId: s.id });
    await tamper(
      `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
       SELECT $2, tenant_id, session_id, 0, rules_version, state, state_hash, 'manual'
         FROM game.snapshots WHERE session_id = $1 AND sequence = $3`,
      [s.id, uuidv7(), written.sequence],
    );
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.divergences).toEqual([expect.objectContaining({ kind: 'snapshot', sequence: 0 })]);
  });

  it('a deleted tail is missing for a plain replay and for verify, never a shorter state', async () => {
    const s = await sessionWith(60);
    await tamper('DELETE FROM game.events WHERE session_id = $1 AND sequence > 55', [s.id], 5);
    await expect(agate.replay({ tenantId, sessionId: s.id })).rejects.toMatchObject({
      code: 'integrity_violation',
      details: { kind: 'missing', sequence: 56, lastMissing: 60 },
    });
    await expect(
      agate.replay({ tenantId, sessionId: s.id, from: 'genesis' }),
    ).rejects.toMatchObject({ code: 'integrity_violation', details: { sequence: 56 } });
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.divergences).toEqual([
      expect.objectContaining({ kind: 'missing', sequence: 56, lastMissing: 60 }),
    ]);
  });

  it('an anchor or a snapshot beyond a cut-back session row says events were removed', async () => {
    const s = await sessionWith(60);
    await anchor(s, 60, s.headHash);
    const events = await allEvents(agate.store, s);
    const at50 = events[49]?.hash as string;
    await tamperAll([
      ['DELETE FROM game.events WHERE session_id = $1 AND sequence > 50', [s.id], 10],
      [
        'UPDATE game.sessions SET last_sequence = 50, head_hash = $2 WHERE id = $1',
        [s.id, Buffer.from(at50, 'hex')],
        1,
      ],
      [
        `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
         SELECT $2, tenant_id, session_id, 55, rules_version, state, state_hash, 'manual'
           FROM game.snapshots WHERE session_id = $1 AND sequence = 50`,
        [s.id, uuidv7()],
        1,
      ],
    ]);
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    expect(r.verified).toBe(false);
    expect(r.divergences.map((d) => [d.kind, d.sequence])).toEqual([
      ['snapshot', 55],
      ['anchor', 60],
    ]);
  });
});
