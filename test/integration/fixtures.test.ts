import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFixture, loadFixtures } from '../../src/fixtures/index.js';
import type { Checkpoint, Fixture } from '../../src/fixtures/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

const fixtures = await loadFixtures(fileURLToPath(new URL('../../fixtures/', import.meta.url)));
const cases = fixtures.map((f) => [f.name, f] as const);

/** Replaying a long session from genesis once per checkpoint is quadratic: sample its checkpoints. */
const GENESIS_CHECKPOINTS = 25;

function genesisCheckpoints(fixture: Fixture): Checkpoint[] {
  const all = fixture.checkpoints;
  if (all.length <= GENESIS_CHECKPOINTS) return all;
  const picks = new Set([0, 1, Math.floor(all.length / 2), all.length - 2, all.length - 1]);
  return all.filter((_, i) => picks.has(i));
}

let db: TestDatabase;
let agate: Agate;
let tenantId: string;
const sessionIds = new Map<string, string>();

function sessionOf(fixture: Fixture): string {
  const id = sessionIds.get(fixture.name);
  if (id === undefined) throw new Error(`fixture ${fixture.name} was not imported`);
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: defaultGames });
  tenantId = (await createTenant(db.pool, { name: 'fixtures', actor: 'test' })).id;
  // Sessions are independent: import them side by side (the 5,000-event one sets the pace).
  const ids = await Promise.all(fixtures.map((f) => importFixture(agate, tenantId, f)));
  fixtures.forEach((f, i) => sessionIds.set(f.name, ids[i] as string));
  await agate.idle();
});
afterAll(async () => {
  await agate.close();
  await db.drop();
});

describe('golden fixtures imported through the normal append path', () => {
  it.each(cases)(
    '%s is stored with its seed, config, rules version and every event',
    async (_n, f) => {
      const session = await agate.store.getSession({ tenantId, sessionId: sessionOf(f) });
      expect(session).toMatchObject({
        rules: f.rules,
        rulesVersion: f.rulesVersion,
        seed: f.seed,
        lastSequence: f.events.length,
        status: f.events.at(-1)?.type === 'session.ended' ? 'ended' : 'active',
      });
      expect(session.config).toMatchObject(f.config);
    },
  );

  it.each(cases)('%s replays from genesis to its recorded checkpoint hashes', async (_n, f) => {
    const sessionId = sessionOf(f);
    for (const { sequence, stateHash } of genesisCheckpoints(f)) {
      const r = await agate.replay({ tenantId, sessionId, to: sequence, from: 'genesis' });
      expect(r.stateHash, `${f.name} at ${sequence}`).toBe(stateHash);
      expect(r.eventsReplayed).toBe(sequence);
    }
  });

  it.each(cases)('%s replays from snapshots to every recorded checkpoint hash', async (_n, f) => {
    const sessionId = sessionOf(f);
    for (const { sequence, stateHash } of f.checkpoints) {
      const r = await agate.replay({ tenantId, sessionId, to: sequence, from: 'snapshot' });
      expect(r.stateHash, `${f.name} at ${sequence}`).toBe(stateHash);
      if (sequence % 50 === 0) expect(r.snapshotUsed?.sequence).toBe(sequence);
    }
  });

  it.each(cases)('%s verifies: every snapshot and the hash chain agree', async (_n, f) => {
    const r = await agate.replay({ tenantId, sessionId: sessionOf(f), verify: true });
    expect(r).toMatchObject({ verified: true, divergences: [], sequence: f.events.length });
    expect(r.stateHash).toBe(f.checkpoints.at(-1)?.stateHash);
  });
});

const tiny: Fixture = {
  format: 1,
  name: 'tiny',
  description: 'Three events.',
  rules: 'archive-gate',
  rulesVersion: 1,
  seed: 'tiny-seed',
  config: {},
  events: [
    { type: 'day.started', version: 1, data: {} },
    { type: 'request.decided', version: 1, data: { requestId: 'd1-r1', approved: true } },
    { type: 'day.started', version: 1, data: {} },
  ],
  checkpoints: [{ sequence: 3, stateHash: '0'.repeat(64) }],
};

describe('importFixture', () => {
  it('gives every event a fresh event id, so one fixture can be imported twice', async () => {
    const first = await importFixture(agate, tenantId, tiny, { batchSize: 2 });
    const second = await importFixture(agate, tenantId, tiny, { batchSize: 2 });
    const ids = async (sessionId: string) =>
      (await agate.store.readEvents({ tenantId, sessionId })).events.map((e) => e.eventId);
    const all = [...(await ids(first)), ...(await ids(second))];
    expect(all).toHaveLength(6);
    expect(new Set(all).size).toBe(6);
    const [a, b] = await Promise.all(
      [first, second].map((sessionId) => agate.replay({ tenantId, sessionId })),
    );
    expect(a?.stateHash).toBe(b?.stateHash);
  });

  it('refuses a fixture of rules this agate does not register, with unknown_rules', async () => {
    await expect(
      importFixture(agate, tenantId, { ...tiny, rulesVersion: 99 }),
    ).rejects.toMatchObject({
      code: 'unknown_rules',
      message: expect.stringContaining('tiny') as unknown,
    });
  });

  it('stops with an AgateError at the first append the store refuses', async () => {
    const endsEarly: Fixture = {
      ...tiny,
      events: [
        { type: 'day.started', version: 1, data: {} },
        { type: 'session.ended', version: 1, data: {} },
        { type: 'day.started', version: 1, data: {} },
      ],
    };
    await expect(importFixture(agate, tenantId, endsEarly, { batchSize: 2 })).rejects.toMatchObject(
      {
        name: 'AgateError',
        code: 'session_ended',
        details: { fixture: 'tiny', sequence: 3 },
      },
    );
  });

  it('refuses a batch size the store would not accept', async () => {
    await expect(importFixture(agate, tenantId, tiny, { batchSize: 0 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });
});
