import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultMigrationsDir,
  fromPgError,
  migrate,
  openEmbeddedPool,
  schemaStatus,
  violatedConstraint,
  withMaintenance,
  withTenant,
} from '../../src/db/index.js';
import type { EmbeddedPool, MigrationReport } from '../../src/db/index.js';
import { formatFeedPosition, readFeed } from '../../src/events/index.js';
import type { NewEvent } from '../../src/events/index.js';
import { createFeedWake, startConsumer } from '../../src/feed/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { tinyGames } from '../support/tiny-rules.js';

let pool: EmbeddedPool;
let agate: Agate;
let migrated: MigrationReport;
let tenantId: string;

const inc = (by: number): NewEvent => ({ type: 'counter.incremented', version: 1, data: { by } });
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

beforeAll(async () => {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  pool = await openEmbeddedPool({});
  const opened = performance.now();
  const client = await pool.connectClient();
  try {
    migrated = await migrate(client);
  } finally {
    await client.end();
  }
  console.info(
    `embedded: open ${Math.round(opened - started)} ms, migrate ${Math.round(performance.now() - opened)} ms, RSS ${mib(rssBefore)} -> ${mib(process.memoryUsage().rss)} MiB`,
  );
  agate = createAgate({ pool, games: tinyGames });
  tenantId = (await createTenant(pool, { name: 'embedded', actor: 'test' })).id;
});
afterAll(async () => {
  await agate?.close();
  await pool?.close();
});

async function sessionWith(count: number, batch: number, tenant = tenantId): Promise<string> {
  const session = await agate.store.createSession({ tenantId: tenant, rules: 'tiny' });
  for (let done = 0; done < count; done += batch) {
    const events = Array.from({ length: Math.min(batch, count - done) }, (_, i) => inc(done + i));
    const r = await agate.store.appendEvents({ tenantId: tenant, sessionId: session.id, events });
    expect(r.ok).toBe(true);
  }
  return session.id;
}

describe('the embedded pool on PGlite', () => {
  it('applies every migration, and schemaStatus then finds none pending', async () => {
    expect(migrated.applied.length).toBeGreaterThan(0);
    const status = await schemaStatus(pool);
    expect(status).toMatchObject({ pending: [], applied: status.expected });
    const client = await pool.connectClient();
    try {
      expect(await migrate(client)).toEqual({
        applied: [],
        alreadyApplied: status.expected,
        repeatable: [],
      });
    } finally {
      await client.end();
    }
  });

  it('re-applies a repeatable definition whose file changed, and appends through the new one', async () => {
    expect(migrated.repeatable).toContain('game.append_events');
    const dir = await mkdtemp(join(tmpdir(), 'agate-migrations-'));
    const client = await pool.connectClient();
    try {
      await cp(defaultMigrationsDir(), dir, { recursive: true });
      const file = join(dir, 'repeatable', 'game.append_events.sql');
      const text = await readFile(file, 'utf8');
      await writeFile(
        file,
        text.replace('BEGIN\n  PERFORM', 'BEGIN\n  -- edited on PGlite\n  PERFORM'),
      );
      expect((await schemaStatus(pool, dir)).pending).toEqual(['repeatable/game.append_events']);
      expect((await migrate(client, dir)).repeatable).toEqual(['game.append_events']);
      const def = await pool.query<{ def: string }>(
        "SELECT pg_get_functiondef('game.append_events(uuid, uuid, bigint, jsonb, integer, text)'::regprocedure) AS def",
      );
      expect(def.rows[0]?.def).toMatch(/edited on PGlite/);
      await sessionWith(3, 3);
      // Back to the shipped file: pending again, and re-applied once.
      expect((await schemaStatus(pool)).pending).toEqual(['repeatable/game.append_events']);
      expect((await migrate(client)).repeatable).toEqual(['game.append_events']);
      expect((await schemaStatus(pool)).pending).toEqual([]);
    } finally {
      await client.end();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses int8 as numbers, timestamptz as Date and jsonb as values, like createPool', async () => {
    const r = await pool.query<{ n: number; at: Date; j: unknown }>(
      'SELECT 9007199254740991::int8 AS n, now() AS at, \'{"a":[1]}\'::jsonb AS j',
    );
    expect(r.rows[0]).toEqual({ n: 2 ** 53 - 1, at: expect.any(Date) as unknown, j: { a: [1] } });
    await expect(pool.query('SELECT 9007199254740993::int8 AS n')).rejects.toThrow(/2\^53/);
  });

  it('runs a parameterless text of several statements in one call, as a server does', async () => {
    const r = await pool.query(
      'CREATE TEMP TABLE multi (n int); INSERT INTO multi VALUES (1), (2)',
    );
    const results = r as unknown as { command: string; rowCount: number }[];
    expect(results.map((x) => [x.command, x.rowCount])).toEqual([
      ['CREATE', null],
      ['INSERT', 2],
    ]);
  });

  it('lets a tenant see only its own rows under withTenant (RLS as agate_app)', async () => {
    const other = (await createTenant(pool, { name: 'other', actor: 'test' })).id;
    const mine = await sessionWith(3, 3);
    const theirs = await sessionWith(2, 2, other);
    const seen = async (tenant: string) =>
      withTenant(pool, { tenantId: tenant }, async (tx) => {
        const role = await tx.query<{ role: string }>('SELECT current_user AS role');
        const ids = await tx.query<{ id: string }>('SELECT id FROM game.sessions');
        const events = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM game.events');
        return { role: role.rows[0]?.role, ids: ids.rows.map((s) => s.id), events: events.rows };
      });
    const a = await seen(tenantId);
    const b = await seen(other);
    expect(a.role).toBe('agate_app');
    expect(a.ids).toContain(mine);
    expect(a.ids).not.toContain(theirs);
    expect(b).toMatchObject({ ids: [theirs], events: [{ n: 2 }] });
  });

  it('maps PostgreSQL errors through fromPgError as it maps a server', async () => {
    const deleting = await pool.query('DELETE FROM game.events').catch((e: unknown) => e);
    expect(fromPgError(deleting)).toMatchObject({ code: 'append_only' });
    const forbidden = await withTenant(pool, { tenantId }, (tx) =>
      tx.query('SELECT * FROM public.api_keys'),
    ).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ code: 'forbidden' });
    const duplicate = await createTenant(pool, {
      id: tenantId,
      name: 'again',
      actor: 'test',
    }).catch((e: unknown) => e);
    expect(violatedConstraint(duplicate)).toBe('tenants_pkey');
    const bad = await pool.query("SELECT 'x'::int").catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: '22P02', severity: 'ERROR', position: '8' });
  });

  it('appends through createAgate and replays with verify', async () => {
    const sessionId = await sessionWith(180, 7);
    await agate.idle();
    const r = await agate.replay({ tenantId, sessionId, verify: true });
    expect(r).toMatchObject({ verified: true, divergences: [], sequence: 180 });
    const genesis = await agate.replay({ tenantId, sessionId, from: 'genesis' });
    expect(genesis.stateHash).toBe(r.stateHash);
    const snaps = await pool.query<{ sequence: number }>(
      'SELECT sequence FROM game.snapshots WHERE session_id = $1 ORDER BY sequence',
      [sessionId],
    );
    expect(snaps.rows.map((s) => s.sequence)).toEqual([50, 100, 150]);
  });

  it('reads the tenant’s feed with the same horizon rule as a server, in feed order', async () => {
    const tenant = (await createTenant(pool, { name: 'embedded-feed', actor: 'test' })).id;
    const first = await sessionWith(3, 3, tenant);
    const second = await sessionWith(2, 1, tenant);
    const page = await readFeed({ pool }, { tenantId: tenant, limit: 1000 });
    expect(page.held).toBe(false);
    expect(page.events.map((e) => `${e.sessionId}#${e.sequence}`)).toEqual([
      ...[1, 2, 3].map((n) => `${first}#${n}`),
      ...[1, 2].map((n) => `${second}#${n}`),
    ]);
    const rest = await readFeed({ pool }, { tenantId: tenant, after: page.events[2]!.position });
    expect(rest.events.map((e) => e.sessionId)).toEqual([second, second]);
  });

  it('runs concurrent appends to many sessions one transaction at a time, losing none', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 4 }, () => agate.store.createSession({ tenantId, rules: 'tiny' })),
    );
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        agate.store.appendEvents({
          tenantId,
          sessionId: sessions[i % 4]?.id ?? '',
          events: [inc(i), inc(i)],
        }),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    for (const s of sessions) {
      const session = await agate.store.getSession({ tenantId, sessionId: s.id });
      expect(session.lastSequence).toBe(20);
    }
  });

  it('does not block pool work while a dedicated client holds a session advisory lock', async () => {
    const holder = await pool.connectClient();
    try {
      await holder.query("SELECT pg_advisory_lock('7163020553791425002')");
      const n = await withMaintenance(pool, (tx) =>
        tx.query<{ n: number }>('SELECT count(*)::int AS n FROM public.tenants'),
      );
      expect(n.rows[0]?.n).toBeGreaterThan(0);
      // One session: the lock is re-entrant, so a second nightly run is not refused here.
      const again = await pool.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_lock('7163020553791425002') AS ok",
      );
      expect(again.rows[0]?.ok).toBe(true);
    } finally {
      await holder.end();
    }
  });

  it('rolls back a transaction whose client goes back to the pool or ends without COMMIT', async () => {
    const leaked = await pool.connect();
    await leaked.query('BEGIN');
    await leaked.query('CREATE TABLE public.leaked (n int)');
    leaked.release();
    const dedicated = await pool.connectClient();
    await dedicated.query('BEGIN');
    await dedicated.query('CREATE TABLE public.leaked_too (n int)');
    await dedicated.end();
    const r = await pool.query<{ a: string | null; b: string | null }>(
      "SELECT to_regclass('public.leaked')::text AS a, to_regclass('public.leaked_too')::text AS b",
    );
    expect(r.rows[0]).toEqual({ a: null, b: null });
  });

  it('measures appends of 1,000 one-event batches and the replay of that session', async () => {
    const session = await agate.store.createSession({ tenantId, rules: 'tiny' });
    const started = performance.now();
    for (let i = 0; i < 1000; i += 1) {
      const r = await agate.store.appendEvents({
        tenantId,
        sessionId: session.id,
        events: [inc(i)],
      });
      expect(r.ok).toBe(true);
    }
    const appendMs = performance.now() - started;
    const replayStarted = performance.now();
    const genesis = await agate.replay({ tenantId, sessionId: session.id, from: 'genesis' });
    const genesisMs = performance.now() - replayStarted;
    const verifyStarted = performance.now();
    const verified = await agate.replay({ tenantId, sessionId: session.id, verify: true });
    const verifyMs = performance.now() - verifyStarted;
    expect(genesis.sequence).toBe(1000);
    expect(verified).toMatchObject({ verified: true, stateHash: genesis.stateHash });
    console.info(
      `embedded: 1,000 one-event appends in ${Math.round(appendMs)} ms (${Math.round(1000 / (appendMs / 1000))} events/s); replay of 1,000 events from genesis ${Math.round(genesisMs)} ms, with verify ${Math.round(verifyMs)} ms; RSS ${mib(process.memoryUsage().rss)} MiB`,
    );
  });
});

describe('the feed on PGlite', () => {
  it('runs a transactional consumer woken through db.listen, delivering every event once in order', async () => {
    const wake = createFeedWake({ pool });
    await wake.ready();
    const live = createAgate({ pool, games: tinyGames, consumers: false, feedWake: wake });
    const session = await live.store.createSession({ tenantId, rules: 'tiny' });
    await live.store.appendEvents({ tenantId, sessionId: session.id, events: [inc(1), inc(2)] });
    await pool.query('CREATE TABLE public.feed_seen (position text PRIMARY KEY, sequence int)');
    await pool.query('GRANT SELECT, INSERT ON public.feed_seen TO agate_app');
    const errors: unknown[] = [];
    const handle = await startConsumer(pool, {
      tenantId,
      definition: {
        name: 'embedded-seen',
        types: null,
        slots: 4,
        mode: 'transactional',
        handle: async (tx, events) => {
          for (const e of events) {
            if (e.sessionId !== session.id) continue;
            await tx.query('INSERT INTO public.feed_seen VALUES ($1, $2)', [
              formatFeedPosition(e.position),
              e.sequence,
            ]);
          }
        },
      },
      pollMs: 60_000,
      wake,
      onError: (error) => errors.push(error),
    });
    try {
      await handle.idle();
      await live.store.appendEvents({ tenantId, sessionId: session.id, events: [inc(3)] });
      const deadline = Date.now() + 20_000;
      const seen = async () =>
        (await pool.query<{ sequence: number }>('SELECT sequence FROM public.feed_seen ORDER BY 1'))
          .rows;
      while ((await seen()).length < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await seen()).toEqual([{ sequence: 1 }, { sequence: 2 }, { sequence: 3 }]);
      expect(errors).toEqual([]);
    } finally {
      await handle.stop();
      await wake.close();
    }
  });
});

describe('an embedded pool on a data directory', () => {
  it('keeps its data across close and reopen, and fails a nested transaction instead of hanging', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'agate-embedded-'));
    try {
      const first = await openEmbeddedPool({ dataDir });
      const client = await first.connectClient();
      await migrate(client).finally(() => client.end());
      const kept = await createTenant(first, { name: 'kept', actor: 'test' });
      await first.end();
      const started = performance.now();
      const again = await openEmbeddedPool({ dataDir, waitTimeoutMs: 300 });
      const reopenMs = performance.now() - started;
      try {
        expect(await schemaStatus(again)).toMatchObject({ pending: [] });
        const names = await again.query<{ name: string }>(
          'SELECT name FROM public.tenants WHERE id = $1',
          [kept.id],
        );
        expect(names.rows).toEqual([{ name: 'kept' }]);
        // On a server the inner transaction takes another connection; here it waits for the outer one.
        const nested = withMaintenance(again, () =>
          withTenant(again, { tenantId: kept.id }, (tx) => tx.query('SELECT 1')),
        );
        await expect(nested).rejects.toMatchObject({ code: 'timeout' });
        expect((await again.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
      } finally {
        await again.close();
      }
      console.info(`embedded: reopen of a data directory ${Math.round(reopenMs)} ms`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
