import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAgateError } from '../../src/errors/index.js';
import { defaultGames } from '../../src/game/index.js';
import { importSessions } from '../../src/import/index.js';
import { createPlayer } from '../../src/players/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { clientTimeOf, countIn, recorded, stored } from '../support/import-sessions.js';
import { runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let agate: Agate;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: defaultGames });
});
afterAll(async () => {
  await agate.close();
  await db.drop();
});

const newTenant = async (target = db) =>
  (await createTenant(target.pool, { name: 'import', actor: 'test' })).id;

const countOf = (sql: string, params: unknown[]) => countIn(db.pool, sql, params);

describe('importSessions', () => {
  it('stores a recorded session that replays with verify, with the chain and snapshots an append gives', async () => {
    const tenantId = await newTenant();
    const session = recorded('import-happy', 260, { ended: true });
    const [imported] = await importSessions(db.pool, {
      tenantId,
      games: defaultGames,
      sessions: [session],
    });
    expect(imported).toMatchObject({ index: 0, events: 261 });
    const sessionId = imported?.sessionId ?? '';
    const replay = await agate.replay({ tenantId, sessionId, verify: true });
    expect(replay).toMatchObject({ verified: true, divergences: [], sequence: 261 });

    // The same events appended normally, in batches of 7, to the same session id of the same
    // tenant id in another database: every stored hash, the head and the snapshots must agree.
    const other = await createTestDatabase();
    try {
      await createTenant(other.pool, { id: tenantId, name: 'append', actor: 'test' });
      const appender = createAgate({ pool: other.pool, games: defaultGames });
      await appender.store.createSession({ ...session, tenantId, id: sessionId });
      for (let done = 0; done < session.events.length; done += 7) {
        const events = session.events.slice(done, done + 7);
        const r = await appender.store.appendEvents({
          tenantId,
          sessionId,
          events,
          recordedSeeds: true,
        });
        expect(r.ok).toBe(true);
      }
      // The appended session's snapshots follow from the feed; the import wrote its own.
      await appender.idle();
      await appender.close();
      const [mine, theirs] = await Promise.all([stored(db, sessionId), stored(other, sessionId)]);
      expect(mine.events).toHaveLength(261);
      expect(mine.events).toEqual(theirs.events);
      expect(mine.events[3]?.client_time).toEqual(new Date(clientTimeOf(3)));
      expect(mine.events[4]?.client_time).toBeNull();
      expect(mine.snapshots.length).toBeGreaterThan(5);
      expect(mine.snapshots).toEqual(theirs.snapshots);
      expect(mine.session).toMatchObject({
        tenant_id: tenantId,
        status: 'ended',
        last_sequence: 261,
        head_hash: theirs.session?.head_hash,
      });
      expect(imported?.headHash).toBe(theirs.session?.head_hash);
      expect(mine.session?.first_event_at).toEqual(mine.session?.last_event_at);
    } finally {
      await other.drop();
    }
  });

  it('reads the newest snapshot back as the current state', async () => {
    const tenantId = await newTenant();
    const [imported] = await importSessions(db.pool, {
      tenantId,
      games: defaultGames,
      sessions: [recorded('import-current', 120)],
    });
    const sessionId = imported?.sessionId ?? '';
    const fromSnapshot = await agate.replay({ tenantId, sessionId });
    const fromGenesis = await agate.replay({ tenantId, sessionId, from: 'genesis' });
    const newest = (await stored(db, sessionId)).snapshots.at(-1)?.sequence;
    expect(newest).toBeGreaterThanOrEqual(100);
    expect(fromSnapshot.snapshotUsed?.sequence).toBe(newest);
    expect(fromSnapshot.stateHash).toBe(fromGenesis.stateHash);
    expect(await agate.store.getSession({ tenantId, sessionId })).toMatchObject({
      status: 'active',
      lastSequence: 120,
    });
  });

  it('stores nothing of a session with a bad event in the middle, and starts no later one', async () => {
    const tenantId = await newTenant();
    const bad = recorded('import-bad', 200);
    const events = [...bad.events];
    events[119] = { type: 'request.decided', version: 2, data: { requestId: 7 } };
    const imported: string[] = [];
    const attempt = importSessions(db.pool, {
      tenantId,
      games: defaultGames,
      sessions: [recorded('import-before', 80), { ...bad, events }, recorded('import-after', 30)],
      onImported: (s) => imported.push(s.sessionId),
    });
    await expect(attempt).rejects.toSatisfy(
      (error) =>
        isAgateError(error, 'invalid_event') &&
        /^sessions\[1\]: events\[119\]: data\.requestId: .*Nothing of this session was stored\.$/.test(
          error.message,
        ) &&
        error.details.sessionIndex === 1,
    );
    expect(imported).toHaveLength(1);
    expect(await countOf('game.sessions WHERE tenant_id = $1', [tenantId])).toBe(1);
    expect(await countOf('game.events WHERE tenant_id = $1', [tenantId])).toBe(80);
  });

  it('rolls back the copied rows when the insert fails, and the connection imports again', async () => {
    const tenantId = await newTenant();
    const [first] = await importSessions(db.pool, {
      tenantId,
      games: defaultGames,
      sessions: [recorded('import-first', 40)],
    });
    const sessionId = first?.sessionId ?? '';
    const again = importSessions(db.pool, {
      tenantId,
      games: defaultGames,
      sessions: [{ ...recorded('import-clash', 90), id: sessionId }],
    });
    await expect(again).rejects.toThrow(/already exists/);
    expect(await countOf('game.events WHERE session_id = $1', [sessionId])).toBe(40);
    const later = await importSessions(db.pool, {
      tenantId,
      games: defaultGames,
      concurrency: 1,
      sessions: [recorded('import-later', 25), recorded('import-later-2', 3)],
    });
    expect(later.map((s) => s.events)).toEqual([25, 3]);
    expect(await countOf('game.events WHERE tenant_id = $1', [tenantId])).toBe(68);
  });

  it('writes only rows of its own tenant, under row-level security', async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const player = await createPlayer(db.pool, { tenantId: b, externalRef: 'b-player' });
    const imported = await importSessions(db.pool, {
      tenantId: a,
      games: defaultGames,
      sessions: [recorded('import-a1', 60), recorded('import-a2', 110)],
    });
    const ids = imported.map((s) => s.sessionId);
    for (const table of ['game.sessions', 'game.events', 'game.snapshots']) {
      const column = table === 'game.sessions' ? 'id' : 'session_id';
      const r = await db.pool.query<{ tenant_id: string }>(
        `SELECT DISTINCT tenant_id FROM ${table} WHERE ${column} = ANY($1)`,
        [ids],
      );
      expect(r.rows, table).toEqual([{ tenant_id: a }]);
    }
    await expect(agate.store.getSession({ tenantId: b, sessionId: ids[0] ?? '' })).rejects.toThrow(
      /does not exist in this tenant/,
    );
    // Another tenant's player cannot be named: the foreign key includes the tenant.
    await expect(
      importSessions(db.pool, {
        tenantId: a,
        games: defaultGames,
        sessions: [{ ...recorded('import-cross', 10), playerId: player.id }],
      }),
    ).rejects.toThrow(/does not exist in this tenant/);
    expect(await countOf('game.sessions WHERE tenant_id = $1', [b])).toBe(0);
    expect(await countOf('game.sessions WHERE tenant_id = $1', [a])).toBe(2);
  });

  it('refuses a tenant that does not exist, naming the fix', async () => {
    await expect(
      importSessions(db.pool, {
        tenantId: uuidv7(),
        games: defaultGames,
        sessions: [recorded('import-no-tenant', 5)],
      }),
    ).rejects.toThrow(/agate tenants create/);
  });
});

describe('agate import', () => {
  async function jsonl(lines: string[]): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'agate-import-'));
    const file = join(dir, 'sessions.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }

  it('imports every line as a session and prints them as JSON', async () => {
    const tenantId = await newTenant();
    const file = await jsonl([
      JSON.stringify(recorded('cli-one', 75)),
      '',
      JSON.stringify(recorded('cli-two', 12, { ended: true })),
    ]);
    const r = await runCli(['import', file, '--tenant', tenantId, '--json'], {
      DATABASE_URL: db.url,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      sessions: { line: number; sessionId: string; events: number }[];
      events: number;
      failed: unknown;
    };
    expect(report).toMatchObject({ events: 88, failed: null });
    expect(report.sessions.map((s) => [s.line, s.events])).toEqual([
      [1, 75],
      [3, 13],
    ]);
    for (const { sessionId } of report.sessions) {
      const replay = await agate.replay({ tenantId, sessionId, verify: true });
      expect(replay.verified).toBe(true);
    }
  });

  it('refuses a bad line with its number, exit 1, importing nothing of that session', async () => {
    const tenantId = await newTenant();
    const bad = recorded('cli-bad', 40);
    const events = bad.events.map((e, i) => (i === 30 ? { ...e, type: 'no.such.type' } : e));
    const file = await jsonl([
      JSON.stringify(recorded('cli-good', 20)),
      JSON.stringify({ ...bad, events }),
      JSON.stringify(recorded('cli-never', 20)),
    ]);
    const r = await runCli(['import', file, '--tenant', tenantId], { DATABASE_URL: db.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^agate: line 2: events\[30\]: .*no\.such\.type.*\[unknown_event_type\]/,
    );
    expect(r.stdout).toMatch(/Imported 1 session\(s\), 20 event\(s\)/);
    expect(r.stdout).toMatch(/Stopped at line 2/);
    expect(await countOf('game.sessions WHERE tenant_id = $1', [tenantId])).toBe(1);
    expect(await countOf('game.events WHERE tenant_id = $1', [tenantId])).toBe(20);
  });

  it('refuses a line that is not JSON, or not a recorded session, with its number', async () => {
    const tenantId = await newTenant();
    const notJson = await jsonl(['{"seed": "x",']);
    const r1 = await runCli(['import', notJson, '--tenant', tenantId], { DATABASE_URL: db.url });
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/line 1: not valid JSON/);
    const typo = await jsonl([JSON.stringify({ ...recorded('cli-typo', 3), confg: {} })]);
    const r2 = await runCli(['import', typo, '--tenant', tenantId], { DATABASE_URL: db.url });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/line 1: .*confg/);
    expect(await countOf('game.sessions WHERE tenant_id = $1', [tenantId])).toBe(0);
  });
});
