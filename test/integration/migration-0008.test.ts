import { createHmac } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createPool, defaultMigrationsDir, migrate } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createEventStore } from '../../src/events/index.js';
import type { EventStore } from '../../src/events/index.js';
import { eventContentHash, sessionRootHash } from '../../src/hashing/index.js';
import { createEmptyDatabase } from '../support/test-database.js';
import { tinyCatalog } from '../support/tiny-game.js';

// A database migrated to 0007 with sessions written the old way, then migrated to 0008.

let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
let pool: Pool;
let store: EventStore;
const tenantId = uuidv7();
const withEvents = uuidv7();
const empty = uuidv7();
const oldBatch = [
  { eventId: uuidv7(), type: 'counter.incremented', version: 1, data: { by: 1 } },
  { eventId: uuidv7(), type: 'note.written', version: 1, data: { text: 'old' } },
];

async function migrationsUpTo0007(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agate-0007-'));
  await cp(defaultMigrationsDir(), dir, { recursive: true });
  const journalPath = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as {
    entries: { idx: number }[];
  };
  journal.entries = journal.entries.filter((e) => e.idx <= 7);
  await writeFile(journalPath, JSON.stringify(journal));
  // That release had no repeatable definitions (they now hold functions 0008 and 0009 need).
  await rm(join(dir, 'repeatable'), { recursive: true });
  return dir;
}

async function writeTheOldWay(client: pg.Client): Promise<void> {
  await client.query('INSERT INTO public.tenants (id, name) VALUES ($1, $2)', [tenantId, 'old']);
  for (const id of [withEvents, empty]) {
    const root = sessionRootHash({
      sessionId: id,
      tenantId,
      seed: 'old-seed',
      rules: 'tiny',
      rulesVersion: 1,
    });
    await client.query(
      `INSERT INTO game.sessions (id, tenant_id, rules, rules_version, seed, head_hash)
       VALUES ($1, $2, 'tiny', 1, 'old-seed', $3)`,
      [id, tenantId, root],
    );
  }
  const events = oldBatch.map((e) => ({
    ...e,
    clientTime: null,
    contentHash: eventContentHash(e).toString('hex'),
  }));
  const r = await client.query<{ outcome: string }>(
    'SELECT outcome FROM game.append_events($1, $2, NULL, $3::jsonb, 1000)',
    [tenantId, withEvents, JSON.stringify(events)],
  );
  expect(r.rows[0]?.outcome).toBe('appended');
}

beforeAll(async () => {
  db = await createEmptyDatabase();
  const dir = await migrationsUpTo0007();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await migrate(client, dir);
    await writeTheOldWay(client);
    await migrate(client);
  } finally {
    await client.end();
    await rm(dir, { recursive: true, force: true });
  }
  pool = createPool({ connectionString: db.url, max: 2 });
  store = createEventStore({ pool, catalog: tinyCatalog });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

describe('migration 0008 on a database with sessions and events', () => {
  it('gives every old session its own 32-byte secret, empty sessions their chain root, and marks old rows legacy', async () => {
    const secrets = await pool.query<{ session_id: string; secret: Buffer }>(
      'SELECT session_id, secret FROM game.session_secrets ORDER BY session_id',
    );
    expect(secrets.rows.map((r) => r.session_id).sort()).toEqual([withEvents, empty].sort());
    expect(secrets.rows.every((r) => r.secret.length === 32)).toBe(true);
    expect(secrets.rows[0]?.secret.equals(secrets.rows[1]?.secret ?? Buffer.alloc(0))).toBe(false);
    const sessions = await pool.query<{ id: string; root: boolean | null; written_by: string }>(
      'SELECT id, root_hash = head_hash AS root, written_by FROM game.sessions',
    );
    expect(Object.fromEntries(sessions.rows.map((s) => [s.id, [s.root, s.written_by]]))).toEqual({
      [withEvents]: [null, 'legacy'],
      [empty]: [true, 'legacy'],
    });
    const events = await pool.query<{ written_by: string }>('SELECT written_by FROM game.events');
    expect(events.rows).toEqual([{ written_by: 'legacy' }, { written_by: 'legacy' }]);
  });

  it('answers a faithful retry of an old batch and refuses a changed one, first event included', async () => {
    const ref = { tenantId, sessionId: withEvents };
    const changed = [{ ...oldBatch[0], data: { by: 2 } }, oldBatch[1]];
    expect(await store.appendEvents({ ...ref, events: changed as typeof oldBatch })).toMatchObject({
      ok: false,
      reason: 'event_id_conflict',
      index: 0,
    });
    expect(await store.appendEvents({ ...ref, events: oldBatch })).toMatchObject({
      ok: true,
      duplicate: true,
      firstSequence: 1,
    });
  });

  it("derives a new event's seed in an old session from the secret the migration gave it", async () => {
    const eventId = uuidv7();
    const ref = { tenantId, sessionId: withEvents };
    const appended = await store.appendEvents({
      ...ref,
      events: [{ eventId, type: 'dice.rolled', data: { sides: 6 } }],
    });
    expect(appended).toMatchObject({ ok: true, firstSequence: 3 });
    const row = await pool.query<{ seed: string; secret: Buffer }>(
      `SELECT e.event_data->>'seed' AS seed, k.secret
         FROM game.events e JOIN game.session_secrets k ON k.session_id = e.session_id
        WHERE e.session_id = $1 AND e.sequence = 3`,
      [withEvents],
    );
    const secret = row.rows[0]?.secret ?? Buffer.alloc(0);
    const mac = createHmac('sha256', secret).update(Buffer.from(eventId.replace(/-/g, ''), 'hex'));
    expect(row.rows[0]?.seed).toBe(mac.digest('hex').slice(0, 32));
  });
});
