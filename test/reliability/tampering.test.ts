import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../src/events/index.js';
import { createPlayer } from '../../src/players/index.js';
import { appendAt, tinyEvents } from '../support/append-at.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, Reply, TestKey } from '../support/api.js';

// A battery of sessions damaged behind the store's back (as a superuser with triggers off), each
// read through every read route and every replay option: the answer is never a 5xx; it is the
// honest answer (as computed before the damage) or a 409 integrity_violation naming a sequence
// and a kind; and verify never says true for a session whose events, snapshots or head changed.

const damages = [
  'event data edited',
  'event deleted in the middle',
  'tail deleted',
  'snapshot state edited, hash kept',
  'snapshot hash edited',
  'head edited',
  'anchor removed',
  'month partition detached',
  'month partition dropped',
] as const;
type Damage = (typeof damages)[number];

/** A removed anchor loses no data: the log still agrees with itself, so verify may hold. */
const recordIntact: ReadonlySet<Damage> = new Set(['anchor removed']);

type Target = {
  damage: Damage;
  session: Session;
  playerId: string;
  /** The honest state hash at each `to` (and at the end, key 'end'), before the damage. */
  honest: Map<number | 'end', string>;
};

let api: ApiFixture;
let server: TestKey;
let analyst: TestKey;
let admin: TestKey;
let tenantId: string;
const targets: Target[] = [];
let clean: Target;

const tos = [20, 52, 58] as const;

function monthStart(offset: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 10));
}

function partitionOf(at: Date): string {
  const month = String(at.getUTCMonth() + 1).padStart(2, '0');
  return `game.events_p${at.getUTCFullYear()}_${month}`;
}

/** 60 events (snapshot at 50), then ended: 61. Partition damages get their events in other months. */
async function build(damage: Damage | 'clean'): Promise<Target> {
  const player = await createPlayer(api.db.pool, { tenantId, externalRef: uuidv7() });
  const { store } = api.agate;
  const created = await store.createSession({ tenantId, rules: 'tiny', playerId: player.id });
  const ref = { tenantId, sessionId: created.id };
  if (damage === 'month partition detached') {
    await appendAt(api.db.pool, created, monthStart(-1), tinyEvents(30));
    await store.appendEvents({ ...ref, events: Array.from({ length: 30 }, (_, i) => inc(i)) });
  } else if (damage === 'month partition dropped') {
    for (const offset of [1, 2, 3]) {
      await appendAt(api.db.pool, created, monthStart(offset), tinyEvents(20));
    }
    await api.agate.snapshot(ref);
  } else {
    await store.appendEvents({ ...ref, events: Array.from({ length: 60 }, (_, i) => inc(i)) });
  }
  expect((await store.endSession(ref)).ok).toBe(true);
  const session = await store.getSession(ref);
  const honest = new Map<number | 'end', string>();
  honest.set('end', (await api.agate.replay({ ...ref, from: 'genesis' })).stateHash);
  for (const to of tos) {
    honest.set(to, (await api.agate.replay({ ...ref, from: 'genesis', to })).stateHash);
  }
  return { damage: damage as Damage, session, playerId: player.id, honest };
}

async function superuser(statements: [string, unknown[]][]): Promise<void> {
  const client = await api.db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    for (const [sql, values] of statements) await client.query(sql, values);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function damage(target: Target): Promise<void> {
  const id = target.session.id;
  switch (target.damage) {
    case 'event data edited':
      return superuser([
        [
          `UPDATE game.events SET event_data = '{"by": 1000}' WHERE session_id = $1 AND sequence = 55`,
          [id],
        ],
      ]);
    case 'event deleted in the middle':
      return superuser([['DELETE FROM game.events WHERE session_id = $1 AND sequence = 55', [id]]]);
    case 'tail deleted':
      return superuser([['DELETE FROM game.events WHERE session_id = $1 AND sequence > 55', [id]]]);
    case 'snapshot state edited, hash kept':
      return superuser([
        [
          `UPDATE game.snapshots SET state = jsonb_set(state, '{total}', '-1') WHERE session_id = $1 AND sequence = 50`,
          [id],
        ],
      ]);
    case 'snapshot hash edited':
      return superuser([
        [
          `UPDATE game.snapshots SET state_hash = '\\x00' WHERE session_id = $1 AND sequence = 50`,
          [id],
        ],
      ]);
    case 'head edited':
      return superuser([[`UPDATE game.sessions SET head_hash = '\\x00' WHERE id = $1`, [id]]]);
    case 'anchor removed': {
      const anchor = uuidv7();
      await superuser([
        [
          `INSERT INTO admin.audit_log (id, tenant_id, actor, action, subject, details)
           VALUES ($1, $2, 'nightly', 'anchor.recorded', $3, $4)`,
          [
            anchor,
            tenantId,
            id,
            JSON.stringify({ sequence: 61, headHash: target.session.headHash }),
          ],
        ],
      ]);
      return superuser([['DELETE FROM admin.audit_log WHERE id = $1', [anchor]]]);
    }
    case 'month partition detached':
      return superuser([
        [`ALTER TABLE game.events DETACH PARTITION ${partitionOf(monthStart(-1))}`, []],
      ]);
    case 'month partition dropped':
      return superuser([[`DROP TABLE ${partitionOf(monthStart(2))}`, []]]);
  }
}

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant('tampering');
  server = await api.newKey(tenantId, 'game_server');
  analyst = await api.newKey(tenantId, 'analyst');
  admin = await api.newKey(tenantId, 'admin');
  clean = await build('clean');
  for (const d of damages) targets.push(await build(d));
  for (const target of targets) await damage(target);
}, 60_000);
afterAll(() => api.close());

/** A refusal that names what is broken: 409 integrity_violation with its sequence and kind. */
function expectIntegrityProblem(reply: Reply, what: string): void {
  expect(reply.status, what).toBe(409);
  expect(reply.raw.headers['content-type'], what).toMatch(/application\/problem\+json/);
  expect(reply.json, what).toMatchObject({
    code: 'integrity_violation',
    sequence: expect.any(Number) as unknown,
    kind: expect.any(String) as unknown,
  });
}

const replayQueries: string[] = [];
for (const from of [undefined, 'genesis', 'snapshot']) {
  for (const to of [undefined, ...tos]) {
    for (const trace of [undefined, 'true', 'state']) {
      for (const verify of [undefined, 'false', 'true']) {
        const q = new URLSearchParams();
        if (from !== undefined) q.set('from', from);
        if (to !== undefined) q.set('to', String(to));
        if (trace !== undefined) q.set('trace', trace);
        if (verify !== undefined) q.set('verify', verify);
        replayQueries.push(q.toString());
      }
    }
  }
}

describe.each(damages)('a session with its %s', (name) => {
  const target = () => targets.find((t) => t.damage === name) as Target;

  it('replays every from/to/trace/verify combination honestly or as a 409 naming the sequence', async () => {
    const { session, honest } = target();
    for (const query of replayQueries) {
      const what = `${name}: replay?${query}`;
      const r = await api.call('GET', `/v1/sessions/${session.id}/replay?${query}`, {
        key: analyst.key,
      });
      expect(r.status, what).toBeLessThan(500);
      const params = new URLSearchParams(query);
      const to = params.has('to') ? Number(params.get('to')) : undefined;
      if (params.get('verify') === 'true') {
        expect(r.status, what).toBe(200);
        if (recordIntact.has(name)) continue;
        expect(r.json.verified, what).toBe(false);
        const divergences = r.json.divergences as { kind: string; sequence: number }[];
        expect(divergences.length, what).toBeGreaterThan(0);
        for (const d of divergences) expect(typeof d.sequence, what).toBe('number');
        continue;
      }
      if (r.status === 409) {
        expectIntegrityProblem(r, what);
        continue;
      }
      expect(r.status, what).toBe(200);
      expect(r.json.stateHash, what).toBe(honest.get(to ?? 'end'));
      expect(r.json.sequence, what).toBe(to ?? session.lastSequence);
    }
  });

  it('answers the other read routes with the stored data or a 409, never a 5xx or a wrong state', async () => {
    const { session, honest, playerId } = target();
    const id = session.id;
    const got = await api.call('GET', `/v1/sessions/${id}`, { key: server.key });
    expect(got.status).toBe(200);
    const state = await api.call('GET', `/v1/sessions/${id}/state`, { key: server.key });
    if (state.status === 409) expectIntegrityProblem(state, `${name}: state`);
    else {
      expect(state.status).toBe(200);
      expect(state.json.stateHash).toBe(honest.get('end'));
    }
    const events = await api.call('GET', `/v1/sessions/${id}/events?limit=1000`, {
      key: server.key,
    });
    if (events.status === 409) expectIntegrityProblem(events, `${name}: events`);
    else {
      expect(events.status).toBe(200);
      const rows = await api.db.pool.query<{ sequence: number }>(
        'SELECT sequence FROM game.events WHERE session_id = $1 ORDER BY sequence',
        [id],
      );
      const listed = (events.json.events as { sequence: number }[]).map((e) => e.sequence);
      expect(listed).toEqual(rows.rows.map((row) => row.sequence));
    }
    const snapshots = await api.call('GET', `/v1/sessions/${id}/snapshots`, { key: analyst.key });
    expect(snapshots.status).toBe(200);
    const exported = await api.call('GET', `/v1/players/${playerId}/export`, { key: admin.key });
    if (exported.status === 409) expectIntegrityProblem(exported, `${name}: export`);
    else expect(exported.status).toBe(200);
  });
});

describe('the leaderboard over damaged sessions', () => {
  it('answers 200 and ranks only sessions whose replay verifies', async () => {
    const r = await api.call('GET', '/v1/leaderboard?limit=1000', { key: analyst.key });
    expect(r.status).toBe(200);
    const ranked = new Set((r.json.entries as { sessionId: string }[]).map((e) => e.sessionId));
    expect(ranked.has(clean.session.id)).toBe(true);
    for (const target of targets) {
      expect(ranked.has(target.session.id), target.damage).toBe(recordIntact.has(target.damage));
    }
  });

  it('verifies the undamaged control session, so the battery is not vacuous', async () => {
    const r = await api.call('GET', `/v1/sessions/${clean.session.id}/replay?verify=true`, {
      key: analyst.key,
    });
    expect(r.json).toMatchObject({ verified: true, divergences: [] });
  });
});
