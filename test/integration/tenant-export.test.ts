import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { maintainPartitions } from '../../partitions/index.js';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import type { Session } from '../../src/events/index.js';
import { chainLink, eventContentHash, sessionRootHash } from '../../src/hashing/index.js';
import { createKey } from '../../src/keys/index.js';
import { createPlayer } from '../../src/players/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { tenantExportKinds } from '../../src/tenants/index.js';
import type { TenantExportKind } from '../../src/tenants/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { startPostgres } from '../support/pg-servers.js';
import type { PgServer } from '../support/pg-servers.js';
import { runCli } from '../support/run-cli.js';
import { tinyGames } from '../support/tiny-rules.js';

// Spawns the built binary: `npm run build` first.

// Sessions are played now and over the next months (appendAt stamps the server time); retention
// then runs as if it were five months later, keeping two, so the months up to the second ahead
// (today's events, audit entries and analytics rows among them) are in the archive.
const now = new Date();
const at = (months: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 15, 12));

let api: ApiFixture;
let dir: string;
let tenantA: string;
let tenantB: string;
let keyA: TestKey;
let keyB: TestKey;
const sessionsA: string[] = [];
const sessionsB: string[] = [];
const cli = (args: string[]) => runCli(args, { DATABASE_URL: api.db.url });

type Line = { kind: string; row?: Record<string, unknown>; counts?: Record<string, number> };

async function played(tenantId: string, events: number, playerId?: string): Promise<string> {
  const session = await api.agate.store.createSession({
    tenantId,
    rules: 'tiny',
    seed: `export-${uuidv7()}`,
    playerId,
  });
  for (let done = 0; done < events; done += 30) {
    const batch = Array.from({ length: Math.min(30, events - done) }, (_, i) => inc(done + i));
    const appended = await api.agate.store.appendEvents({
      tenantId,
      sessionId: session.id,
      events: batch,
    });
    expect(appended.ok).toBe(true);
  }
  return session.id;
}

/** A session whose events span this month and the next three (most of it archived below). */
async function playedOverMonths(tenantId: string): Promise<string> {
  const session: Session = await api.agate.store.createSession({
    tenantId,
    rules: 'tiny',
    seed: `export-months-${uuidv7()}`,
  });
  for (const m of [0, 1, 2, 3]) await appendAt(api.db.pool, session, at(m), tinyEvents(15));
  return session.id;
}

/** What `SELECT count(*)` finds of the tenant in each table the export covers (live + archive). */
async function countsInDatabase(
  tenantId: string,
  pool: Pool = api.db.pool,
): Promise<Record<TenantExportKind, number>> {
  const count = async (tables: string[], column = 'tenant_id') => {
    let n = 0;
    for (const table of tables) {
      const r = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`,
        [tenantId],
      );
      n += r.rows[0]?.n ?? 0;
    }
    return n;
  };
  return {
    tenant: await count(['public.tenants'], 'id'),
    api_key: await count(['public.api_keys']),
    player: await count(['public.players']),
    session: await count(['game.sessions']),
    event: await count(['game.events', 'archive.events']),
    snapshot: await count(['game.snapshots']),
    analytics_event: await count(['analytics.events', 'analytics_archive.events']),
    audit_entry: await count(['admin.audit_log', 'archive.audit_log']),
    consumer: await count(['feed.consumers']),
    consumer_slot: await count(['feed.consumer_slots']),
    consumer_member: await count(['feed.consumer_members']),
    integrity_finding: await count(['admin.integrity_findings']),
    session_audit: await count(['admin.session_audits']),
  };
}

beforeAll(async () => {
  api = await createApiFixture();
  dir = await mkdtemp(join(tmpdir(), 'agate-tenant-export-'));
  tenantA = await api.newTenant('exported');
  tenantB = await api.newTenant('neighbour');
  keyA = await api.newKey(tenantA, 'admin');
  keyB = await api.newKey(tenantB, 'game_server');
  const playerA = await createPlayer(api.db.pool, {
    tenantId: tenantA,
    externalRef: `ext-${uuidv7()}`,
    displayName: 'Grace Hopper',
    email: 'grace@example.com',
  });
  const playerB = await createPlayer(api.db.pool, {
    tenantId: tenantB,
    displayName: 'Neighbour Player',
    email: 'neighbour@example.com',
  });
  sessionsA.push(await played(tenantA, 120, playerA.id), await played(tenantA, 7));
  sessionsA.push(await playedOverMonths(tenantA));
  sessionsB.push(await played(tenantB, 60, playerB.id), await playedOverMonths(tenantB));
  await api.agate.idle();
  const report = await maintainPartitions(api.db.url, { now: at(5), retentionMonths: 2 });
  expect(report.ran).toBe(true);
  await api.agate.idle();
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await api.close();
});

describe('agate tenants export', () => {
  it('writes every row the tenant owns, counted as the database counts them, and nothing of another tenant', async () => {
    const expected = await countsInDatabase(tenantA);
    // What the export must reach: archived months, snapshots, derived rows and the PII.
    expect(expected.snapshot).toBeGreaterThan(0);
    expect(expected.analytics_event).toBeGreaterThan(0);
    expect(expected.consumer).toBeGreaterThan(0);
    const archived = await api.db.pool.query<{ events: number; audit: number }>(
      `SELECT (SELECT count(*)::int FROM archive.events WHERE tenant_id = $1) AS events,
              (SELECT count(*)::int FROM archive.audit_log WHERE tenant_id = $1) AS audit`,
      [tenantA],
    );
    expect(archived.rows[0]?.events).toBeGreaterThan(0);
    expect(archived.rows[0]?.audit).toBeGreaterThan(0);

    const out = join(dir, 'a.ndjson');
    const r = await cli(['tenants', 'export', tenantA, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const text = await readFile(out, 'utf8');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
    expect(lines[0]).toEqual({
      kind: 'export',
      format: 1,
      tenantId: tenantA,
      placement: 'shared',
      exportedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    });
    const summary = lines.at(-1);
    expect(summary?.kind).toBe('summary');
    const rows = lines.slice(1, -1);
    const seen = Object.fromEntries(tenantExportKinds.map((k) => [k, 0]));
    for (const line of rows) seen[line.kind] = (seen[line.kind] ?? 0) + 1;
    expect(seen).toEqual(expected);
    expect(summary?.counts).toEqual(expected);
    expect(JSON.parse(r.stdout)).toEqual({
      tenantId: tenantA,
      placement: 'shared',
      counts: expected,
      out,
      readFrom: 'primary',
    });
    // Kinds come in the documented order, each in one run.
    const order = rows.map((line) => tenantExportKinds.indexOf(line.kind as TenantExportKind));
    expect(order.every((k, i) => k >= 0 && (i === 0 || k >= (order[i - 1] ?? 0)))).toBe(true);
    expect(rows.every((line) => line.row?.tenant_id === tenantA || line.row?.id === tenantA)).toBe(
      true,
    );

    expect(text).toContain('grace@example.com');
    for (const other of [tenantB, keyB.id, ...sessionsB, 'neighbour@example.com']) {
      expect(text).not.toContain(other);
    }
    const hashes = await api.db.pool.query<{ hex: string }>(
      `SELECT encode(key_hash, 'hex') AS hex FROM public.api_keys WHERE tenant_id = $1`,
      [tenantA],
    );
    expect(hashes.rows).toHaveLength(1);
    for (const { hex } of hashes.rows) expect(text).not.toContain(hex);
    expect(text).not.toContain(keyA.key);
    expect(text).not.toContain('key_hash');

    const audited = await api.db.pool.query<{ actor: string; details: unknown }>(
      `SELECT actor, details FROM admin.audit_log WHERE tenant_id = $1 AND action = 'tenant.exported'`,
      [tenantA],
    );
    expect(audited.rows).toEqual([
      { actor: 'cli', details: { placement: 'shared', counts: expected } },
    ]);
  });

  it("writes each session's events 1..N in order, linked by the hash chain up to its head", async () => {
    const r = await cli(['tenants', 'export', tenantA]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^Exported tenant .* \(shared\), read from the primary: 1 tenant, 1 api_key, 1 player, 3 session/,
    );
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
    const sessions = lines.filter((l) => l.kind === 'session').map((l) => l.row ?? {});
    expect(sessions.map((s) => s.id).sort()).toEqual([...sessionsA].sort());
    for (const session of sessions) {
      const events = lines
        .filter((l) => l.kind === 'event' && l.row?.session_id === session.id)
        .map((l) => l.row ?? {});
      expect(events.map((e) => e.sequence)).toEqual(
        Array.from({ length: Number(session.last_sequence) }, (_, i) => i + 1),
      );
      let head = sessionRootHash({
        sessionId: String(session.id),
        tenantId: tenantA,
        seed: String(session.seed),
        rules: String(session.rules),
        rulesVersion: Number(session.rules_version),
      });
      for (const event of events) {
        const content = eventContentHash({
          eventId: String(event.event_id),
          type: String(event.event_type),
          version: Number(event.event_version),
          data: event.event_data,
        });
        head = chainLink(head, Number(event.sequence), content);
        expect(head.toString('hex')).toBe(event.hash);
      }
      expect(head.toString('hex')).toBe(session.head_hash);
    }
  });

  it('refuses a file that exists and leaves it as it was', async () => {
    const out = join(dir, 'kept.ndjson');
    await writeFile(out, 'mine\n');
    const before = await countsInDatabase(tenantA);
    const r = await cli(['tenants', 'export', tenantA, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /already exists.*remove it or choose another path.*\[invalid_request\]/,
    );
    expect(await readFile(out, 'utf8')).toBe('mine\n');
    expect(await countsInDatabase(tenantA)).toEqual(before);
  });

  it('refuses an unknown tenant, and --json without --out, writing nothing', async () => {
    const out = join(dir, 'nobody.ndjson');
    const unknown = await cli(['tenants', 'export', uuidv7(), '--out', out]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\[tenant_not_found\]/);
    await expect(readFile(out, 'utf8')).rejects.toThrow(/ENOENT/);
    const json = await cli(['tenants', 'export', tenantA, '--json']);
    expect(json.code).toBe(2);
    expect(json.stdout).toBe('');
    expect(json.stderr).toMatch(/give --out <file> too/);
  });

  it('covers every table with a tenant_id column but the session secrets, the placements, and the bookkeeping of moves and deletions', async () => {
    const r = await api.db.pool.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE a.attname = 'tenant_id' AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY 1`,
    );
    expect(r.rows.map((row) => row.name)).toEqual([
      'admin.audit_log',
      'admin.integrity_findings',
      'admin.session_audits',
      'admin.tenant_fences',
      'admin.tenant_moves',
      'admin.tenant_placements',
      'admin.tenant_tombstones',
      'analytics.events',
      'analytics_archive.events',
      'archive.audit_log',
      'archive.events',
      'feed.consumer_members',
      'feed.consumer_slots',
      'feed.consumers',
      'game.events',
      'game.session_secrets',
      'game.sessions',
      'game.snapshots',
      'public.api_keys',
      'public.players',
    ]);
  });
});

describe('agate tenants export of a tenant on a database server of its own', () => {
  let server: PgServer;
  let eu1: Pool;
  const env = () => ({ DATABASE_URL: api.db.url, AGATE_DATABASE_URL_EU1: server.url('agate') });

  beforeAll(async () => {
    server = await startPostgres({ name: 'export-placement' });
    await server.createDatabase('agate');
    const migrated = await runCli(['migrate', '--json'], env());
    expect(migrated.code).toBe(0);
    eu1 = createPool({ connectionString: server.url('agate'), max: 4 });
  }, 120_000);
  afterAll(async () => {
    await eu1.end();
    await server.stop();
  });

  it('reads the data from the placement and the tenant, keys and their audit entries from the control plane', async () => {
    const created = await runCli(
      ['tenants', 'create', 'placed', '--placement', 'database:eu1', '--json'],
      env(),
    );
    expect(created.code).toBe(0);
    const tenantId = (JSON.parse(created.stdout) as { id: string }).id;
    await createKey(api.db.pool, { tenantId, role: 'analyst', actor: 'test' });
    const placed = createAgate({ pool: eu1, games: tinyGames });
    let sessionId: string;
    try {
      await createPlayer(eu1, { tenantId, email: 'placed@example.com' });
      const session = await placed.store.createSession({ tenantId, rules: 'tiny', seed: 'eu1' });
      sessionId = session.id;
      const events = Array.from({ length: 60 }, (_, i) => inc(i));
      expect((await placed.store.appendEvents({ tenantId, sessionId, events })).ok).toBe(true);
      await placed.idle();
    } finally {
      await placed.close();
    }

    const onPlacement = await countsInDatabase(tenantId, eu1);
    const onControl = await countsInDatabase(tenantId);
    expect(onControl.session + onControl.event + onControl.player).toBe(0);
    expect(onControl.audit_entry).toBeGreaterThan(0);
    const expected = {
      ...onPlacement,
      tenant: onControl.tenant,
      api_key: onControl.api_key,
      audit_entry: onControl.audit_entry + onPlacement.audit_entry,
    };
    expect(expected).toMatchObject({ tenant: 1, api_key: 1, session: 1, event: 60 });

    const out = join(dir, 'placed.ndjson');
    const r = await runCli(['tenants', 'export', tenantId, '--out', out, '--json'], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      tenantId,
      placement: 'database:eu1',
      counts: expected,
      out,
      readFrom: 'primary',
    });
    const text = await readFile(out, 'utf8');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
    expect(lines.at(-1)?.counts).toEqual(expected);
    expect(lines.filter((l) => l.kind === 'event').map((l) => l.row?.sequence)).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    expect(text).toContain('placed@example.com');
    for (const other of [tenantA, tenantB, ...sessionsA, ...sessionsB]) {
      expect(text).not.toContain(other);
    }
    const audited = async (pool: Pool) =>
      (
        await pool.query(
          `SELECT 1 FROM admin.audit_log WHERE tenant_id = $1 AND action = 'tenant.exported'`,
          [tenantId],
        )
      ).rowCount;
    expect({ placement: await audited(eu1), control: await audited(api.db.pool) }).toEqual({
      placement: 1,
      control: 0,
    });
  }, 120_000);
});
