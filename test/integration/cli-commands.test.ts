import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { defaultGames, playSession } from '../../src/game/index.js';
import { createPlayer } from '../../src/players/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { repoRoot, runCli } from '../support/run-cli.js';
import type { CliResult } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

// Spawns the built binary: `npm run build` first.

const execFileAsync = promisify(execFile);

let db: TestDatabase;
let agate: Agate;
let tenantId: string;
const env = () => ({ DATABASE_URL: db.url });
const cli = (args: string[]) => runCli(args, env());

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: defaultGames });
  tenantId = (await createTenant(db.pool, { name: 'cli commands', actor: 'test' })).id;
});
afterAll(async () => {
  await agate.close();
  await db.drop();
});

/** A session of archive-gate played by the bot, stored through the normal append path. */
async function playedSession(
  events: number,
  options: { tenant?: string; playerId?: string; end?: boolean; seed?: string } = {},
): Promise<string> {
  const tenant = options.tenant ?? tenantId;
  const seed = options.seed ?? `cli-${uuidv7()}`;
  const session = await agate.store.createSession({
    tenantId: tenant,
    rules: 'archive-gate',
    seed,
    playerId: options.playerId,
  });
  const appended = await agate.store.appendEvents({
    tenantId: tenant,
    sessionId: session.id,
    events: playSession(seed, {}, events, 'bot'),
    recordedSeeds: true,
  });
  expect(appended.ok).toBe(true);
  if (options.end === true) {
    expect((await agate.store.endSession({ tenantId: tenant, sessionId: session.id })).ok).toBe(
      true,
    );
  }
  await agate.idle();
  return session.id;
}

function parsed<T>(result: CliResult): T {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

async function auditEntries(subject: string, action: string) {
  const r = await db.pool.query<{ actor: string; details: Record<string, unknown> }>(
    'SELECT actor, details FROM admin.audit_log WHERE subject = $1 AND action = $2',
    [subject, action],
  );
  return r.rows;
}

/** Changes a stored event behind the store's back, as a superuser with triggers off would. */
async function tamperEvent(sessionId: string, sequence: number): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const r = await client.query(
      `UPDATE game.events SET event_data = '{"forged": true}' WHERE session_id = $1 AND sequence = $2`,
      [sessionId, sequence],
    );
    expect(r.rowCount).toBe(1);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

type HelpOutput = { path: string[]; exitCode: number | null; text: string };

/**
 * Parses `<path> --help` for every command of the built program's tree, in one child process
 * (one process per command would cost a second of module loading each). The child imports the
 * built main.js, which runs once with `--help` (its output is ignored), then walks buildProgram().
 */
async function helpOfEveryCommand(): Promise<HelpOutput[]> {
  const main = pathToFileURL(join(repoRoot, 'dist/src/cli/main.js')).href;
  const script = `
    process.argv = [process.execPath, 'agate', '--help'];
    const { buildProgram } = await import(${JSON.stringify(main)});
    const all = (command) => [command, ...command.commands.flatMap(all)];
    const pathsOf = (command, path) => [path, ...command.commands.flatMap((c) => pathsOf(c, [...path, c.name()]))];
    const found = [];
    for (const path of pathsOf(buildProgram(), [])) {
      const program = buildProgram();
      let text = '';
      for (const command of all(program)) {
        command.configureOutput({ writeOut: (s) => { text += s; }, writeErr: (s) => { text += s; } });
      }
      let exitCode = null;
      try {
        await program.parseAsync(['node', 'agate', ...path, '--help']);
      } catch (error) {
        exitCode = error.exitCode;
      }
      found.push({ path, exitCode, text });
    }
    process.exitCode = 0;
    console.log('@@' + JSON.stringify(found));
  `;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.slice(stdout.lastIndexOf('@@') + 2)) as HelpOutput[];
}

// Every test uses its own sessions, players or tenant: they run side by side.
describe.concurrent('the agate CLI', () => {
  describe('--help', () => {
    it('exits 0 with usage and a description for every command and subcommand', async () => {
      const helps = await helpOfEveryCommand();
      const names = helps.map((h) => h.path.join(' '));
      expect(names).toEqual(
        expect.arrayContaining([
          '',
          'replay',
          'snapshot',
          'snapshot rebuild',
          'sessions list',
          'gdpr export',
          'gdpr erase',
          'fixtures import',
          'tenants create',
          'tenants list',
          'keys create',
          'keys list',
          'keys rotate',
          'keys revoke',
          'feed tail',
          'consumers list',
          'consumers reset',
        ]),
      );
      for (const { path, exitCode, text } of helps) {
        const name = ['agate', ...path].join(' ');
        expect(exitCode, name).toBe(0);
        expect(text, name).toContain(`Usage: ${name}`);
        expect(text.split('\n')[2]?.trim(), `a description for ${name}`).not.toBe('');
      }
    });

    it.each([[[]], [['replay']], [['gdpr', 'erase']], [['sessions']]])(
      'the binary prints agate %j --help and exits 0',
      async (path) => {
        const r = await runCli([...path, '--help'], {});
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`Usage: agate${path.map((p) => ` ${p}`).join('')}`);
      },
    );
  });

  describe('agate replay', () => {
    it('prints the same replay as the library as JSON, and audits it with actor cli', async () => {
      const sessionId = await playedSession(120);
      const library = await agate.replay({ tenantId, sessionId, role: 'agate_analyst' });
      const json = parsed<Record<string, unknown>>(
        await cli(['replay', sessionId, '--tenant', tenantId, '--json']),
      );
      const expected = {
        sessionId: library.sessionId,
        sequence: library.sequence,
        stateHash: library.stateHash,
        state: library.state,
        verified: library.verified,
        divergences: library.divergences,
        snapshotUsed: library.snapshotUsed,
      };
      expect(json).toEqual(JSON.parse(JSON.stringify(expected)));
      expect(json.snapshotUsed).not.toBeNull();
      const audited = await auditEntries(sessionId, 'session.replayed');
      expect(audited).toEqual([
        expect.objectContaining({
          actor: 'cli',
          details: expect.objectContaining({ stateHash: library.stateHash }) as unknown,
        }),
      ]);
    });

    it('replays to --to from genesis, with one trace line per event', async () => {
      const sessionId = await playedSession(80);
      const library = await agate.replay({ tenantId, sessionId, to: 30, from: 'genesis' });
      const json = parsed<{ sequence: number; snapshotUsed: unknown; trace: unknown[] }>(
        await cli([
          'replay',
          sessionId,
          '--tenant',
          tenantId,
          '--to',
          '30',
          '--from',
          'genesis',
          '--trace',
          '--json',
        ]),
      );
      expect(json).toMatchObject({
        sequence: 30,
        snapshotUsed: null,
        stateHash: library.stateHash,
      });
      expect(json.trace).toHaveLength(30);

      const human = await cli([
        'replay',
        sessionId,
        '--tenant',
        tenantId,
        '--to',
        '30',
        '--from',
        'genesis',
        '--trace',
      ]);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(library.stateHash);
      const traceLines = human.stdout
        .split('\n')
        .filter((l) => /^\s*\d+ {2}\S+\s+[0-9a-f]{64}$/.test(l));
      expect(traceLines).toHaveLength(30);
      expect(traceLines[0]).toMatch(/^\s*1 {2}day\.started\s+[0-9a-f]{64}$/);
      expect(traceLines.at(-1)?.endsWith(library.stateHash)).toBe(true);
    });

    it('verifies an untouched session (exit 0) and exits 3 naming the divergence of a tampered one', async () => {
      const sessionId = await playedSession(60);
      const clean = await cli(['replay', sessionId, '--tenant', tenantId, '--verify']);
      expect(clean.code).toBe(0);
      expect(clean.stdout).toMatch(/verified: +yes/);

      await tamperEvent(sessionId, 38);
      const human = await cli(['replay', sessionId, '--tenant', tenantId, '--verify']);
      expect(human.code).toBe(3);
      expect(human.stdout).toMatch(/verified: +NO/);
      expect(human.stdout).toMatch(/^ {4}chain at 38: /m);
      const json = await cli(['replay', sessionId, '--tenant', tenantId, '--verify', '--json']);
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout)).toMatchObject({
        verified: false,
        divergences: [{ kind: 'chain', sequence: 38 }],
      });
    });

    it('exits 1 with a clear message for a missing session', async () => {
      const missing = uuidv7();
      const r = await cli(['replay', missing, '--tenant', tenantId]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `agate: Session ${missing} does not exist in this tenant; check the id and the API key's tenant. [session_not_found]\n`,
      );
    });

    it.each([
      [['--to', 'abc'], /--to must be a whole number/],
      [['--from', 'middle'], /--from must be one of genesis, snapshot/],
      [['--tenant', 'acme'], /--tenant must be a tenant id \(a UUID/],
    ])('exits 2 for bad flags %j', async (flags, message) => {
      const r = await cli(['replay', uuidv7(), '--tenant', tenantId, ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  });

  describe('agate snapshot', () => {
    it('saves a manual snapshot at the last sequence and prints its hash', async () => {
      // A fixed seed whose 33rd event is no day boundary: with a random one (1 in ~9) the inline
      // snapshotter had already saved a day snapshot at 33, and the manual one was not created.
      const seed = 'cli-snapshot';
      expect(playSession(seed, {}, 33, 'bot').at(-1)?.type).not.toBe('day.ended');
      const sessionId = await playedSession(33, { seed });
      const library = await agate.replay({ tenantId, sessionId });
      const json = parsed<Record<string, unknown>>(
        await cli(['snapshot', sessionId, '--tenant', tenantId, '--json']),
      );
      expect(json).toEqual({
        sessionId,
        sequence: 33,
        stateHash: library.stateHash,
        created: true,
      });
      const stored = await db.pool.query<{ reason: string; hash: string }>(
        "SELECT reason, encode(state_hash, 'hex') AS hash FROM game.snapshots WHERE session_id = $1 AND sequence = 33",
        [sessionId],
      );
      expect(stored.rows.filter((r) => r.reason === 'manual')).toEqual([
        { reason: 'manual', hash: library.stateHash },
      ]);
      const again = await cli(['snapshot', sessionId, '--tenant', tenantId]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('already saved');
      expect(again.stdout).toContain(library.stateHash);
    });

    it('rebuilds an edited snapshot from the log, reports it and audits it with actor cli', async () => {
      const sessionId = await playedSession(120);
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL session_replication_role = replica');
        const r = await client.query(
          `UPDATE game.snapshots SET state = jsonb_set(state, '{day}', '99')
            WHERE session_id = $1 AND sequence = 100`,
          [sessionId],
        );
        expect(r.rowCount).toBe(1);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const before = await agate.replay({ tenantId, sessionId, verify: true });
      expect(before.divergences).toEqual([
        expect.objectContaining({ kind: 'snapshot_corrupt', sequence: 100 }),
      ]);
      const rebuild = ['snapshot', 'rebuild', sessionId, '--tenant', tenantId];
      expect(before.divergences[0]?.message).toContain(
        rebuild.join(' ').replace('snapshot', 'agate snapshot'),
      );
      const json = parsed<{ deleted: unknown[]; written: { sequence: number }[] }>(
        await cli([...rebuild, '--json']),
      );
      expect(json.deleted).toEqual([{ sequence: 100, reason: 'interval', problem: 'corrupt' }]);
      expect(json.written.map((w) => w.sequence)).toEqual([100]);
      const after = await agate.replay({ tenantId, sessionId, verify: true });
      expect(after).toMatchObject({ verified: true, divergences: [] });
      const text = await cli([...rebuild, '--all']);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/deleted: \d+\n(.*\n)* {2}written: \d+/);
      expect(text.stdout).toContain('100 (interval): asked');
      const audited = await auditEntries(sessionId, 'snapshots.rebuilt');
      expect(audited.map((a) => [a.actor, a.details.all])).toEqual([
        ['cli', false],
        ['cli', true],
      ]);
    });
  });

  describe('agate sessions list', () => {
    it("lists only the tenant's sessions, most recently changed first, filtered by --status", async () => {
      const tenant = (await createTenant(db.pool, { name: 'list', actor: 'test' })).id;
      const active = await playedSession(5, { tenant });
      const ended = await playedSession(7, { tenant, end: true });
      const all = parsed<{ sessions: { id: string; status: string; lastSequence: number }[] }>(
        await cli(['sessions', 'list', '--tenant', tenant, '--json']),
      );
      expect(all.sessions.map((s) => [s.id, s.status, s.lastSequence])).toEqual([
        [ended, 'ended', 8],
        [active, 'active', 5],
      ]);
      expect(Object.keys(all.sessions[0] ?? {}).sort()).toEqual([
        'createdAt',
        'id',
        'lastSequence',
        'playerId',
        'rules',
        'rulesVersion',
        'status',
        'updatedAt',
      ]);
      const onlyEnded = parsed<{ sessions: { id: string }[] }>(
        await cli(['sessions', 'list', '--tenant', tenant, '--status', 'ended', '--json']),
      );
      expect(onlyEnded.sessions.map((s) => s.id)).toEqual([ended]);
      const human = await cli(['sessions', 'list', '--tenant', tenant, '--status', 'active']);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(active);
      expect(human.stdout).not.toContain(ended);
      const bad = await cli(['sessions', 'list', '--tenant', tenant, '--status', 'paused']);
      expect(bad.code).toBe(2);
    });
  });

  describe('agate gdpr', () => {
    it("exports a player's PII, sessions and events, then erases the PII; both audited with actor cli", async () => {
      const player = await createPlayer(db.pool, {
        tenantId,
        externalRef: `ext-${uuidv7()}`,
        displayName: 'Ada Lovelace',
        email: 'ada@example.com',
      });
      const sessionId = await playedSession(12, { playerId: player.id });
      type Export = {
        player: { id: string; email: string | null; displayName: string | null };
        sessions: { id: string }[];
        events: unknown[];
      };
      const exported = parsed<Export>(
        await cli(['gdpr', 'export', player.id, '--tenant', tenantId]),
      );
      expect(exported.player).toMatchObject({
        email: 'ada@example.com',
        displayName: 'Ada Lovelace',
      });
      expect(exported.sessions.map((s) => s.id)).toEqual([sessionId]);
      expect(exported.events).toHaveLength(12);
      expect(await auditEntries(player.id, 'player.exported')).toEqual([
        { actor: 'cli', details: { sessions: 1, events: 12, auditEntries: 0, erased: false } },
      ]);

      const erased = parsed<{ id: string; clearedColumns: string[]; alreadyErased: boolean }>(
        await cli(['gdpr', 'erase', player.id, '--tenant', tenantId, '--json']),
      );
      expect(erased).toMatchObject({ id: player.id, alreadyErased: false, sessions: 1 });
      expect(erased.clearedColumns).toEqual(expect.arrayContaining(['email', 'display_name']));
      const row = await db.pool.query(
        'SELECT email, display_name, erased_at FROM public.players WHERE id = $1',
        [player.id],
      );
      expect(row.rows[0]).toMatchObject({ email: null, display_name: null });
      expect(await auditEntries(player.id, 'player.erased')).toEqual([
        expect.objectContaining({ actor: 'cli' }),
      ]);
      const after = parsed<Export>(await cli(['gdpr', 'export', player.id, '--tenant', tenantId]));
      expect(after.player).toMatchObject({ email: null, displayName: null });
    });
  });

  describe('agate fixtures import', () => {
    it('imports every golden fixture as a session that replays to its recorded hash', async () => {
      const tenant = (await createTenant(db.pool, { name: 'fixtures', actor: 'test' })).id;
      type Report = {
        tenantId: string;
        events: number;
        sessions: {
          fixture: string;
          sessionId: string;
          events: number;
          matchesRecording: boolean;
        }[];
      };
      const report = parsed<Report>(
        await cli(['fixtures', 'import', 'fixtures/archive-gate-v1', '--tenant', tenant, '--json']),
      );
      expect(report.sessions).toHaveLength(25);
      expect(report.events).toBe(report.sessions.reduce((n, s) => n + s.events, 0));
      expect(report.sessions.every((s) => s.matchesRecording)).toBe(true);
      const stored = await db.pool.query<{ sessions: number; events: number }>(
        `SELECT count(*)::int AS sessions, sum(last_sequence)::int AS events FROM game.sessions WHERE tenant_id = $1`,
        [tenant],
      );
      expect(stored.rows[0]).toEqual({ sessions: 25, events: report.events });
    });

    it('refuses a folder that is not there, or whose name is too long to be one, with what to pass', async () => {
      const tenant = (await createTenant(db.pool, { name: 'fixtures-missing', actor: 'test' })).id;
      for (const dir of ['fixtures/nowhere', 'x'.repeat(5000)]) {
        const r = await cli(['fixtures', 'import', dir, '--tenant', tenant]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /is not a folder; pass a folder of fixture files.*\[invalid_request\]/,
        );
      }
    });

    it('imports nothing when one fixture of the folder cannot be stored', async () => {
      const tenant = (await createTenant(db.pool, { name: 'bad fixtures', actor: 'test' })).id;
      const dir = await mkdtemp(join(tmpdir(), 'agate-fixtures-'));
      try {
        const good = await readFile(
          join(repoRoot, 'fixtures/archive-gate-v1/first-steps-10.json'),
          'utf8',
        );
        await writeFile(join(dir, 'first-steps-10.json'), good);
        const bad = JSON.parse(good) as { name: string; events: { type: string }[] };
        bad.name = 'unknown-type';
        bad.events[3] = { ...bad.events[3], type: 'gate.teleported' };
        await writeFile(join(dir, 'unknown-type.json'), JSON.stringify(bad));
        const r = await cli(['fixtures', 'import', dir, '--tenant', tenant]);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /Fixture unknown-type: .*Nothing was imported\. \[unknown_event_type\]/,
        );
        const stored = await db.pool.query('SELECT 1 FROM game.sessions WHERE tenant_id = $1', [
          tenant,
        ]);
        expect(stored.rowCount).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('where the data is', () => {
    it('exits 1 naming DATABASE_URL when PostgreSQL does not answer', async () => {
      const r = await runCli(['sessions', 'list', '--tenant', uuidv7()], {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/agate',
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/DATABASE_URL/);
      expect(r.stderr).toMatch(/\[unavailable\]/);
    });

    it('runs on the embedded database in memory when DATABASE_URL is unset', async () => {
      // A fresh in-memory database has no tenants: the command got there and says so.
      const tenant = uuidv7();
      const r = await runCli(['--memory', 'sessions', 'list', '--tenant', tenant, '--json'], {});
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`No tenant ${tenant}`);
      expect(r.stderr).toMatch(/\[tenant_not_found\]/);
    });
  });
});
