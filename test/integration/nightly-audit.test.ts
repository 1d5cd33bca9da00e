// Issue 14, item 8: tampering found at night is heard. Each test gets a database of its own: the
// nightly state (audit mark, rolling cursor, findings) is one per database.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Queue, QueueEvents } from 'bullmq';
import { uuidv7 } from 'uuidv7';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stateHash } from '../../replay/index.js';
import { createServer } from '../../src/api/index.js';
import {
  applyNightlySchedule,
  nightlyQueueName,
  runNightly,
  startNightlyWorker,
} from '../../src/jobs/nightly/index.js';
import type { NightlyOptions, NightlySummary } from '../../src/jobs/nightly/index.js';
import { createSnapshotProducer } from '../../src/jobs/queue/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { inc } from '../support/api.js';
import { redisUrl } from '../support/redis.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeEach(async () => {
  db = await createTestDatabase();
  // Inline snapshots: every 50th event, as in production without a queue.
  agate = createAgate({ pool: db.pool, games: tinyGames });
  tenantId = (await createTenant(db.pool, { name: 'audit', actor: 'test' })).id;
});
afterEach(() => db.drop());

async function session(events: number): Promise<string> {
  const s = await agate.store.createSession({ tenantId, rules: 'tiny' });
  await append(s.id, events);
  return s.id;
}

async function append(sessionId: string, events: number): Promise<void> {
  const batch = Array.from({ length: events }, (_, i) => inc(i + 1));
  const r = await agate.store.appendEvents({ tenantId, sessionId, events: batch });
  if (!r.ok) throw new Error(r.message);
}

async function nightly(options: NightlyOptions = {}): Promise<NightlySummary> {
  const result = await runNightly(agate, db.url, options);
  if (!result.ran) throw new Error(result.message);
  return result.summary;
}

/** Changes stored rows behind the store's back, as an attacker with the owner's login would. */
async function tamper(statement: string, params: unknown[]): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const r = await client.query(statement, params);
    expect(r.rowCount).toBe(1);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

const editSnapshotState = (sessionId: string, sequence: number) =>
  tamper(
    `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '999999') WHERE session_id = $1 AND sequence = $2`,
    [sessionId, sequence],
  );
const editSnapshotHash = (sessionId: string, sequence: number) =>
  tamper(
    `UPDATE game.snapshots SET state_hash = sha256('forged') WHERE session_id = $1 AND sequence = $2`,
    [sessionId, sequence],
  );
const editEvent = (sessionId: string, sequence: number) =>
  tamper(
    `UPDATE game.events SET event_data = '{"by": 1000}' WHERE session_id = $1 AND sequence = $2`,
    [sessionId, sequence],
  );

const found = (s: NightlySummary) =>
  [...s.audit.divergences, ...s.fullVerify.divergences]
    .map((d) => `${d.sessionId} ${d.sequence} ${d.kind}`)
    .sort();

async function scrape(): Promise<Map<string, number>> {
  const app = createServer({ agate, logger: pino({ level: 'silent' }), rateLimit: null });
  try {
    const reply = await app.inject({ method: 'GET', url: '/metrics' });
    expect(reply.statusCode).toBe(200);
    const values = new Map<string, number>();
    for (const m of reply.body.matchAll(/^(agate_\w+) (\S+)$/gm)) values.set(m[1]!, Number(m[2]));
    return values;
  } finally {
    await app.close();
  }
}

describe('the nightly audit', () => {
  it('reports events deleted inside the first page it loads as missing, with their range', async () => {
    const id = await session(30); // shorter than the audit's first page: loaded with the session
    await tamper('DELETE FROM game.events WHERE session_id = $1 AND sequence = 12', [id]);
    const summary = await nightly({ fullVerifyLimit: 0 });
    expect(found(summary)).toEqual([`${id} 12 missing`]);
  });

  it('checks every snapshot written since the last audit, not a sample: one damaged among thirty is found', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i += 1) ids.push(await session(60));
    expect(found(await nightly({ fullVerifyLimit: 0 }))).toEqual([]);
    for (const id of ids) await append(id, 45); // a new interval snapshot at 100 in each
    const [stateEdited = '', hashEdited = ''] = [ids[17], ids[4]];
    await editSnapshotState(stateEdited, 100);
    await editSnapshotHash(hashEdited, 100);
    const second = await nightly({ fullVerifyLimit: 0 });
    expect(second.audit.snapshots).toBe(30);
    expect(second.audit.fromGenesis).toBe(0);
    expect(found(second)).toEqual(
      [`${stateEdited} 100 snapshot_corrupt`, `${hashEdited} 100 snapshot_corrupt`].sort(),
    );
  });

  it('folds a session from genesis when a snapshot below its verified point was written since the last audit', async () => {
    const id = await session(110); // snapshots at 50 and 100
    await nightly({ fullVerifyLimit: 0 });
    const stored = await db.pool.query<{ state: { total: number } }>(
      'SELECT state FROM game.snapshots WHERE session_id = $1 AND sequence = 50',
      [id],
    );
    const forged = { ...stored.rows[0]!.state, total: 7 };
    // Rewritten whole, its hash consistent with its state: only the replay can tell.
    await db.pool.query('DELETE FROM game.snapshots WHERE session_id = $1 AND sequence = 50', [id]);
    await db.pool.query(
      `INSERT INTO game.snapshots (id, tenant_id, session_id, sequence, rules_version, state, state_hash, reason)
       VALUES ($1, $2, $3, 50, 1, $4, $5, 'interval')`,
      [uuidv7(), tenantId, id, forged, Buffer.from(stateHash(forged), 'hex')],
    );
    const second = await nightly({ fullVerifyLimit: 0 });
    expect(second.audit).toMatchObject({ sessions: 1, fromGenesis: 1, snapshots: 2 });
    expect(found(second)).toEqual([`${id} 50 snapshot`]);
  });

  it('says how many sessions it could not replay because their rules are not registered', async () => {
    await session(60);
    const withoutTiny = createAgate({ pool: db.pool, games: defaultGames, consumers: false });
    const result = await runNightly(withoutTiny, db.url, { fullVerifyLimit: 0 });
    expect(result.ran && result.summary.audit).toMatchObject({ sessions: 1, unknownRules: 1 });
    // Not verified, so it is not skipped for good: a build with its rules audits it.
    expect((await nightly({ fullVerifyLimit: 0 })).audit).toMatchObject({
      sessions: 1,
      unknownRules: 0,
    });
  });

  it('finds a chain edited after its last anchor incrementally, without folding from genesis', async () => {
    const id = await session(60);
    await session(60);
    await nightly({ fullVerifyLimit: 0 });
    await append(id, 10);
    // Its snapshots are old: nothing of it was written since the last audit but its new events.
    await db.pool.query(
      `UPDATE game.snapshots SET created_at = now() - interval '3 days' WHERE session_id = $1`,
      [id],
    );
    await editEvent(id, 65);
    const second = await nightly({ fullVerifyLimit: 0 });
    expect(second.audit).toMatchObject({ sessions: 1, fromGenesis: 0 });
    expect(found(second)).toEqual([`${id} 65 chain`]);
  });

  it('advances the rolling full verification by its bound per run and resumes where it stopped', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await session(3));
    ids.sort();
    expect((await scrape()).get('agate_verify_backlog_sessions')).toBe(5);
    const first = await nightly({ fullVerifyLimit: 2 });
    expect(first.fullVerify).toMatchObject({ sessions: 2, backlog: 3, divergences: [] });
    expect((await scrape()).get('agate_verify_backlog_sessions')).toBe(3);
    // Unmoved and without new snapshots: only the full verification can find this one.
    await editEvent(ids[3] ?? '', 2);
    const second = await nightly({ fullVerifyLimit: 2 });
    expect(second.audit.sessions).toBe(0);
    expect(second.fullVerify).toMatchObject({ sessions: 2, backlog: 1 });
    expect(found(second)).toEqual([`${ids[3]} 2 chain`]);
    expect((await scrape()).get('agate_verify_backlog_sessions')).toBe(1);
    const third = await nightly({ fullVerifyLimit: 2 });
    expect(third.fullVerify).toMatchObject({ sessions: 1, backlog: 0, divergences: [] });
    const fourth = await nightly({ fullVerifyLimit: 2 });
    expect(fourth.fullVerify).toMatchObject({ sessions: 2, backlog: 3, divergences: [] });
  });

  it('records a finding once however many runs see it, and says whether it is new', async () => {
    const id = await session(60);
    await nightly({ fullVerifyLimit: 0 });
    await append(id, 5);
    await editEvent(id, 62);
    const first = await nightly({ fullVerifyLimit: 0 });
    const second = await nightly({ fullVerifyLimit: 10 });
    expect(first.audit.divergences).toMatchObject([
      { tenantId, sessionId: id, sequence: 62, kind: 'chain', firstSeen: true },
    ]);
    // Still unresolved: seen again by the incremental audit and by the full verification.
    expect(second.audit.divergences).toMatchObject([{ sequence: 62, firstSeen: false }]);
    expect(second.fullVerify.divergences).toMatchObject([{ sequence: 62, firstSeen: false }]);
    const rows = await db.pool.query<{ tenant_id: string; sequence: number; kind: string }>(
      'SELECT tenant_id, sequence, kind FROM admin.integrity_findings WHERE session_id = $1',
      [id],
    );
    expect(rows.rows).toEqual([{ tenant_id: tenantId, sequence: 62, kind: 'chain' }]);
  });

  it('anchors only heads it verified, never a chain found diverging', async () => {
    const clean = await session(30);
    const damaged = await session(30);
    await editEvent(damaged, 12);
    const summary = await nightly({ fullVerifyLimit: 0 });
    expect(found(summary)).toEqual([`${damaged} 12 chain`]);
    expect(summary.anchors.recorded).toBe(1);
    const anchored = await db.pool.query<{ subject: string }>(
      "SELECT subject FROM admin.audit_log WHERE action = 'anchor.recorded'",
    );
    expect(anchored.rows).toEqual([{ subject: clean }]);
  });

  it('shows the divergences and the last success in /metrics of a server started afterwards', async () => {
    const before = await scrape();
    expect(before.get('agate_integrity_divergences')).toBe(0);
    expect(before.get('agate_nightly_last_success_timestamp_seconds')).toBe(0);
    const a = await session(60);
    const b = await session(60);
    await editSnapshotState(a, 50);
    await editEvent(b, 7);
    const started = Date.now() / 1000;
    await nightly();
    const finished = Date.now() / 1000;
    const metrics = await scrape();
    expect(metrics.get('agate_integrity_divergences')).toBe(2);
    const last = metrics.get('agate_nightly_last_success_timestamp_seconds') ?? 0;
    expect(last).toBeGreaterThanOrEqual(Math.floor(started));
    expect(last).toBeLessThanOrEqual(finished);
  });
});

describe('agate nightly --inline', () => {
  it('exits 0 on a clean record and 3 with a damaged snapshot, listing the finding', async () => {
    const id = await session(60);
    const clean = await runCli(['nightly', '--inline'], { DATABASE_URL: db.url });
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/divergences: 0/);
    await editSnapshotState(id, 50);
    const damaged = await runCli(['nightly', '--inline', '--json'], { DATABASE_URL: db.url });
    expect(damaged.code).toBe(3);
    const summary = (JSON.parse(damaged.stdout) as { summary: NightlySummary }).summary;
    expect(summary.audit.divergences).toMatchObject([
      { tenantId, sessionId: id, sequence: 50, kind: 'snapshot_corrupt', firstSeen: true },
    ]);
    const again = await runCli(['nightly', '--inline'], { DATABASE_URL: db.url });
    expect(again.code).toBe(3);
    expect(again.stdout).toContain(`session ${id} at 50 [snapshot_corrupt, recorded before]`);
  });
});

type LogLine = { level: number; msg: string } & Record<string, unknown>;

function captureLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('agate worker', () => {
  it('logs each divergence its nightly run finds at error level, with tenant, session, sequence and kind', async () => {
    const id = await session(60);
    await editSnapshotHash(id, 50);
    const prefix = `agate-test-audit-${randomBytes(4).toString('hex')}`;
    const { logger, lines } = captureLogger();
    const producer = createSnapshotProducer({ url: redisUrl, prefix, timeoutMs: 5_000 });
    const worker = startNightlyWorker({ url: redisUrl, prefix }, agate, db.url, producer, {
      logger,
    });
    const queue = new Queue(nightlyQueueName, { connection: { url: redisUrl }, prefix });
    const events = new QueueEvents(nightlyQueueName, { connection: { url: redisUrl }, prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add('nightly', {});
      await job.waitUntilFinished(events, 60_000);
    } finally {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await producer.close();
    }
    const errors = lines.filter((l) => l.level === 50);
    expect(
      errors
        .map(({ tenantId: t, sessionId, sequence, kind }) => ({ t, sessionId, sequence, kind }))
        .sort((x, y) => String(x.kind).localeCompare(String(y.kind))),
    ).toEqual([{ t: tenantId, sessionId: id, sequence: 50, kind: 'snapshot_corrupt' }]);
  });

  it('keeps the stored nightly schedule when started with another, logging both, and replaces it only when told', async () => {
    const prefix = `agate-test-schedule-${randomBytes(4).toString('hex')}`;
    const connection = { url: redisUrl, prefix };
    const queue = new Queue(nightlyQueueName, { connection: { url: redisUrl }, prefix });
    const registered = async () => (await queue.getJobSchedulers()).map((s) => s.pattern);
    const stored = async () =>
      (await db.pool.query<{ schedule: string }>('SELECT schedule FROM admin.nightly_state'))
        .rows[0]?.schedule;
    try {
      const first = captureLogger();
      await applyNightlySchedule(db.pool, connection, '0 4 * * *', { logger: first.logger });
      expect(first.lines.filter((l) => l.level >= 50)).toEqual([]);
      expect([await stored(), await registered()]).toEqual(['0 4 * * *', ['0 4 * * *']]);

      const other = captureLogger();
      const kept = await applyNightlySchedule(db.pool, connection, '30 1 * * *', {
        logger: other.logger,
      });
      expect(kept).toMatchObject({ outcome: 'kept', pattern: '0 4 * * *' });
      const [error] = other.lines.filter((l) => l.level === 50);
      expect(error?.msg).toContain('"30 1 * * *"');
      expect(error?.msg).toContain('"0 4 * * *"');
      expect(error?.msg).toContain('--replace-schedule');
      expect([await stored(), await registered()]).toEqual(['0 4 * * *', ['0 4 * * *']]);

      const unset = captureLogger();
      await applyNightlySchedule(db.pool, connection, null, { logger: unset.logger });
      expect(unset.lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(await stored()).toBe('0 4 * * *');

      const told = captureLogger();
      const replaced = await applyNightlySchedule(db.pool, connection, '30 1 * * *', {
        replace: true,
        logger: told.logger,
      });
      expect(replaced).toMatchObject({ outcome: 'replaced', pattern: '30 1 * * *' });
      expect(told.lines.filter((l) => l.level >= 50)).toEqual([]);
      expect([await stored(), await registered()]).toEqual(['30 1 * * *', ['30 1 * * *']]);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
