import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { nightlyStages, runNightly } from '../../src/jobs/nightly/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { chainLink, eventContentHash } from '../../src/hashing/index.js';
import { appendAt } from '../support/append-at.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { defaultGames, playSession } from '../../src/game/index.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  // No inline snapshotter: the nightly job must find and write every missing snapshot itself.
  agate = createAgate({ pool: db.pool, games: defaultGames, consumers: false });
  tenantId = (await createTenant(db.pool, { name: 'nightly', actor: 'test' })).id;
});
afterAll(() => db.drop());

const yesterday = () => new Date(Date.now() - 86_400_000);

/** Sessions that moved yesterday (and some today), with no snapshots yet. */
async function sessionsThatMoved(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const seed = `nightly-${uuidv7()}`;
    const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
    const events = playSession(seed, {}, 40 + i * 7 + 3, 'bot');
    await appendAt(db.pool, session, yesterday(), events.slice(0, -3));
    if (i % 2 === 0) {
      // Some sessions moved today too: their day snapshot is at their last event before midnight.
      await agate.store.appendEvents({
        tenantId,
        sessionId: session.id,
        events: events.slice(-3),
        recordedSeeds: true,
      });
    }
    ids.push(session.id);
  }
  return ids;
}

/** What any number of completed runs must leave: one snapshot per boundary, one anchor per head. */
async function expectNightlyEndState(): Promise<void> {
  const missing = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM game.sessions s CROSS JOIN LATERAL generate_series(50, s.last_sequence, 50) g(seq)
      WHERE NOT EXISTS (SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence = g.seq)`,
  );
  expect(missing.rows[0]?.n).toBe(0);
  const dayTargets = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM game.sessions s
      WHERE s.last_sequence > 0 AND NOT EXISTS (
        SELECT 1 FROM game.snapshots n WHERE n.session_id = s.id AND n.sequence >= (
          SELECT max(sequence) FROM game.events e WHERE e.session_id = s.id AND e.server_time < date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))`,
  );
  expect(dayTargets.rows[0]?.n).toBe(0);
  const anchors = await db.pool.query<{ sessions: number; anchored: number; dupes: number }>(
    `SELECT (SELECT count(*)::int FROM game.sessions WHERE last_sequence > 0) AS sessions,
            (SELECT count(DISTINCT subject)::int FROM admin.audit_log WHERE action = 'anchor.recorded') AS anchored,
            (SELECT count(*)::int FROM (SELECT subject, details->>'sequence' FROM admin.audit_log
               WHERE action = 'anchor.recorded' GROUP BY 1, 2 HAVING count(*) > 1) d) AS dupes`,
  );
  expect(anchors.rows[0]).toMatchObject({ dupes: 0 });
  expect(anchors.rows[0]?.anchored).toBe(anchors.rows[0]?.sessions);
}

describe('the nightly run', () => {
  it('snapshots every moved session at the day boundary, fills interval snapshots, audits, anchors, and a rerun adds nothing', async () => {
    await sessionsThatMoved(6);
    const first = await runNightly(agate, db.url);
    expect(first.ran).toBe(true);
    if (!first.ran) return;
    expect(first.summary.daySnapshots.targets).toBe(6);
    expect(first.summary.intervalSnapshots.targets).toBeGreaterThan(0);
    expect(first.summary.audit).toMatchObject({ divergences: [] });
    expect(first.summary.fullVerify).toMatchObject({ divergences: [] });
    expect(first.summary.anchors.recorded).toBe(6);
    await expectNightlyEndState();
    const reasons = await db.pool.query<{ reason: string }>(
      'SELECT DISTINCT reason FROM game.snapshots ORDER BY 1',
    );
    expect(reasons.rows.map((r) => r.reason)).toEqual(['day_boundary', 'interval']);
    const summaries = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM admin.audit_log WHERE action = 'nightly.completed'",
    );
    expect(summaries.rows[0]?.n).toBe(1);
    const again = await runNightly(agate, db.url);
    expect(
      again.ran && [
        again.summary.daySnapshots.targets,
        again.summary.intervalSnapshots.targets,
        again.summary.anchors.recorded,
      ],
    ).toEqual([0, 0, 0]);
  });

  it('lets two runs at once do the work once', async () => {
    await sessionsThatMoved(4);
    const results = await Promise.all([runNightly(agate, db.url), runNightly(agate, db.url)]);
    expect(results.some((r) => r.ran)).toBe(true);
    const done = results
      .filter((r) => r.ran)
      .reduce((n, r) => n + (r.ran ? r.summary.daySnapshots.targets : 0), 0);
    expect(done).toBe(4);
    await expectNightlyEndState();
  });

  it.each(nightlyStages)(
    'killed (SIGKILL) at stage %s and run again, ends as one clean run would',
    async (stage) => {
      await sessionsThatMoved(3);
      const killed = await runCli(['nightly', '--inline', '--json'], {
        DATABASE_URL: db.url,
        AGATE_FAILPOINT: stage,
      });
      expect(killed.code).not.toBe(0);
      const rerun = await runCli(['nightly', '--inline', '--json'], { DATABASE_URL: db.url });
      expect(rerun.stderr).toBe('');
      expect(rerun.code).toBe(0);
      await expectNightlyEndState();
    },
  );

  it('catches a rewrite that recomputed every later hash and the head, by the nightly anchors', async () => {
    const [sessionId = ''] = await sessionsThatMoved(1);
    await runNightly(agate, db.url);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      const rows = await client.query<{
        sequence: number;
        event_id: string;
        event_type: string;
        event_version: number;
        event_data: Record<string, unknown>;
        server_time: Date;
      }>(
        'SELECT sequence, event_id, event_type, event_version, event_data, server_time FROM game.events WHERE session_id = $1 ORDER BY sequence',
        [sessionId],
      );
      const root = await client.query<{ h: Buffer }>(
        'SELECT head_hash AS h FROM game.sessions WHERE id = $1',
        [sessionId],
      );
      // Recompute the chain from the root, with event 10 rewritten.
      const session = await agate.store.getSession({ tenantId, sessionId });
      const { sessionRootHash } = await import('../../src/hashing/index.js');
      let head = sessionRootHash({
        sessionId,
        tenantId,
        seed: session.seed,
        rules: session.rules,
        rulesVersion: session.rulesVersion,
      });
      expect(root.rows[0]?.h).toBeDefined();
      for (const row of rows.rows) {
        const data = row.sequence === 10 ? { ...row.event_data, forged: true } : row.event_data;
        head = chainLink(
          head,
          row.sequence,
          eventContentHash({
            eventId: row.event_id,
            type: row.event_type,
            version: row.event_version,
            data,
          }),
        );
        await client.query(
          'UPDATE game.events SET event_data = $3, hash = $4 WHERE session_id = $1 AND sequence = $2',
          [sessionId, row.sequence, JSON.stringify(data), head],
        );
      }
      await client.query('UPDATE game.sessions SET head_hash = $2 WHERE id = $1', [
        sessionId,
        head,
      ]);
      await client.query('DELETE FROM game.snapshots WHERE session_id = $1', [sessionId]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // The forged chain is self-consistent: a plain replay does not notice...
    await expect(agate.replay({ tenantId, sessionId, from: 'genesis' })).resolves.toMatchObject({
      sequence: expect.any(Number) as unknown,
    });
    // ...but the head anchored that night does.
    const verify = await agate.replay({ tenantId, sessionId, verify: true });
    expect(verify.verified).toBe(false);
    expect(verify.divergences.map((d) => d.kind)).toContain('anchor');
  });
});
