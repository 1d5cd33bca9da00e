import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGames, playSession } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { runCli } from '../support/run-cli.js';

// Spawns the built binary: `npm run build` first.

let api: ApiFixture;
let tenantId: string;
let analyst: TestKey;

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant('missing events');
  analyst = await api.newKey(tenantId, 'analyst');
});
afterAll(() => api.close());

/** Removes a session's events from `after` on, behind the store's back (triggers off). */
async function deleteTail(sessionId: string, after: number): Promise<void> {
  const client = await api.db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('DELETE FROM game.events WHERE session_id = $1 AND sequence > $2', [
      sessionId,
      after,
    ]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function tinySession(events: number): Promise<string> {
  const s = await api.agate.store.createSession({ tenantId, rules: 'tiny', seed: 'missing' });
  const r = await api.agate.store.appendEvents({
    tenantId,
    sessionId: s.id,
    events: Array.from({ length: events }, (_, i) => inc(i)),
  });
  expect(r.ok).toBe(true);
  return s.id;
}

describe('a session whose last events are gone', () => {
  it('is a 409 problem naming the first missing sequence, on the replay and the state routes', async () => {
    const sessionId = await tinySession(30);
    await deleteTail(sessionId, 20);
    for (const url of [
      `/v1/sessions/${sessionId}/replay`,
      `/v1/sessions/${sessionId}/replay?from=genesis`,
      `/v1/sessions/${sessionId}/replay?to=25`,
      `/v1/sessions/${sessionId}/state`,
    ]) {
      const r = await api.call('GET', url, { key: analyst.key });
      expect({ url, status: r.status, type: r.raw.headers['content-type'] }).toEqual({
        url,
        status: 409,
        type: expect.stringMatching(/^application\/problem\+json/) as unknown,
      });
      expect(r.json).toMatchObject({
        code: 'integrity_violation',
        kind: 'missing',
        sequence: 21,
        lastMissing: url.endsWith('to=25') ? 25 : 30,
        detail: expect.stringMatching(/^Events 21 to \d+ of session .* missing/) as unknown,
      });
    }
    const verified = await api.call('GET', `/v1/sessions/${sessionId}/replay?verify=true`, {
      key: analyst.key,
    });
    expect(verified.status).toBe(200);
    expect(verified.json).toMatchObject({
      verified: false,
      sequence: 20,
      divergences: [{ kind: 'missing', sequence: 21, lastMissing: 30, goneMonths: [] }],
    });
    const page = await api.call('GET', `/v1/sessions/${sessionId}/events?after=15`, {
      key: analyst.key,
    });
    expect([page.status, page.json.sequence]).toEqual([409, 21]);
  });

  it('makes agate replay exit 1 naming the sequence, and exit 3 with the missing range under --verify', async () => {
    const agate = createAgate({ pool: api.db.pool, games: defaultGames });
    const seed = 'missing-cli';
    const s = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
    const appended = await agate.store.appendEvents({
      tenantId,
      sessionId: s.id,
      events: playSession(seed, {}, 40, 'bot'),
      recordedSeeds: true,
    });
    expect(appended.ok).toBe(true);
    await deleteTail(s.id, 33);
    const env = { DATABASE_URL: api.db.url };
    const plain = await runCli(['replay', s.id, '--tenant', tenantId], env);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(
      new RegExp(
        `^agate: Events 34 to 40 of session ${s.id} are missing from the store: .*\\[integrity_violation\\]\\n$`,
      ),
    );
    const verify = await runCli(['replay', s.id, '--tenant', tenantId, '--verify', '--json'], env);
    expect(verify.code).toBe(3);
    expect(JSON.parse(verify.stdout)).toMatchObject({
      verified: false,
      sequence: 33,
      divergences: [{ kind: 'missing', sequence: 34, lastMissing: 40 }],
    });
  });
});
