import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createPool } from '../../src/db/index.js';
import { createEventStore } from '../../src/events/index.js';
import type { NewEvent } from '../../src/events/index.js';
import { importSessions } from '../../src/import/index.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';
import { tinyCatalog } from '../support/tiny-game.js';
import { tinyGames } from '../support/tiny-rules.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture();
  tenantId = await f.newTenant();
});
afterAll(() => f.db.drop());

/** The session's secret, read as the owner (the test database's superuser). */
async function secretOf(sessionId: string): Promise<Buffer> {
  const r = await f.db.pool.query<{ secret: Buffer }>(
    'SELECT secret FROM game.session_secrets WHERE session_id = $1',
    [sessionId],
  );
  const secret = r.rows[0]?.secret;
  if (secret === undefined) throw new Error(`session ${sessionId} has no secret`);
  return secret;
}

/** HMAC-SHA256(secret, the id's 16 bytes), first 16 bytes as hex: ADR 0013, computed here. */
function expectedSeed(secret: Buffer, eventId: string): string {
  const mac = createHmac('sha256', secret).update(Buffer.from(eventId.replace(/-/g, ''), 'hex'));
  return mac.digest('hex').slice(0, 32);
}

const roll = (eventId: string) => ({ eventId, type: 'dice.rolled', data: { sides: 6 } });

describe('server-drawn per-event seeds', () => {
  it("derives a seedless event's seed from its session's secret and its id, and a faithful retry through another pool gets the first answer", async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const ref = { tenantId, sessionId: s.id };
    const ids = [uuidv7(), uuidv7(), uuidv7()] as const;
    const batch: NewEvent[] = [
      roll(ids[0]),
      { eventId: ids[1], type: 'note.written', data: { text: 'x' } },
      roll(ids[2]),
    ];
    const first = await f.store.appendEvents({ ...ref, events: batch });

    // Another process's view: its own pool and store, nothing shared with the first.
    const pool = createPool({ connectionString: f.db.url, max: 2 });
    try {
      const other = createEventStore({ pool, catalog: tinyCatalog });
      const retry = await other.appendEvents({ ...ref, events: batch });
      expect(retry).toEqual({ ...first, duplicate: true });
    } finally {
      await pool.end();
    }
    const secret = await secretOf(s.id);
    expect(secret).toHaveLength(32);
    const stored = await allEvents(f.store, s);
    expect(stored.map((e) => e.data.seed)).toEqual([
      expectedSeed(secret, ids[0]),
      undefined,
      expectedSeed(secret, ids[2]),
    ]);
  });

  it('gives the same event id a different seed in another session', async () => {
    const eventId = uuidv7();
    const seeds: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const s = await f.store.createSession({ tenantId, rules: 'tiny', seed: 'same-session-seed' });
      expect(
        (await f.store.appendEvents({ tenantId, sessionId: s.id, events: [roll(eventId)] })).ok,
      ).toBe(true);
      const [stored] = await allEvents(f.store, s);
      expect(stored?.data.seed).toBe(expectedSeed(await secretOf(s.id), eventId));
      seeds.push(String(stored?.data.seed));
    }
    expect(seeds[0]).not.toBe(seeds[1]);
  });

  it('keeps the secret table out of reach of agate_app, agate_analyst and agate_maintenance', async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const client = await f.db.pool.connect();
    try {
      for (const role of ['agate_app', 'agate_analyst', 'agate_maintenance']) {
        await client.query('BEGIN');
        await client.query(
          `SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)`,
          [role, tenantId],
        );
        await expect(
          client.query('SELECT secret FROM game.session_secrets WHERE session_id = $1', [s.id]),
        ).rejects.toMatchObject({ code: '42501' });
        await client.query('ROLLBACK');
      }
      await client.query('BEGIN');
      await client.query(`SELECT set_config('role', 'agate_analyst', true)`);
      await expect(
        client.query('SELECT * FROM game.event_seeds($1, $2, ARRAY[$3::uuid])', [
          tenantId,
          s.id,
          uuidv7(),
        ]),
      ).rejects.toMatchObject({ code: '42501' });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it("answers game.event_seeds for the session's own tenant only, and leaves the caller's tenant setting as it was", async () => {
    const s = await f.store.createSession({ tenantId, rules: 'tiny' });
    const other = await f.newTenant();
    const eventId = uuidv7();
    const client = await f.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `SELECT set_config('role', 'agate_app', true), set_config('app.tenant_id', $1, true)`,
        [other],
      );
      const foreign = await client.query(
        'SELECT * FROM game.event_seeds($1, $2, ARRAY[$3::uuid])',
        [other, s.id, eventId],
      );
      const own = await client.query<{ seed: string }>(
        'SELECT seed FROM game.event_seeds($1, $2, ARRAY[$3::uuid])',
        [tenantId, s.id, eventId],
      );
      const setting = await client.query<{ t: string }>(
        `SELECT current_setting('app.tenant_id') AS t`,
      );
      await client.query('ROLLBACK');
      expect(foreign.rows).toEqual([]);
      expect(own.rows).toEqual([{ seed: expectedSeed(await secretOf(s.id), eventId) }]);
      expect(setting.rows[0]?.t).toBe(other);
    } finally {
      client.release();
    }
  });

  it('stores a secret with an imported session and derives its seedless seeds from it, as an append would', async () => {
    const eventId = uuidv7();
    const [imported] = await importSessions(f.db.pool, {
      tenantId,
      games: tinyGames,
      sessions: [{ seed: 'imported', rules: 'tiny', config: {}, events: [roll(eventId)] }],
    });
    const sessionId = imported?.sessionId ?? '';
    const [stored] = await allEvents(f.store, { tenantId, id: sessionId });
    expect(stored?.data.seed).toBe(expectedSeed(await secretOf(sessionId), eventId));
    const retry = await f.store.appendEvents({ tenantId, sessionId, events: [roll(eventId)] });
    expect(retry).toMatchObject({ ok: true, duplicate: true, firstSequence: 1 });
  });
});
