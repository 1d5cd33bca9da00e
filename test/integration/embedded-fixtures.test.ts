import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openEmbeddedPool } from '../../src/db/index.js';
import type { EmbeddedPool } from '../../src/db/index.js';
import { importFixture, loadFixtures } from '../../src/fixtures/index.js';
import type { Checkpoint, Fixture } from '../../src/fixtures/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';

const fixtures = await loadFixtures(fileURLToPath(new URL('../../fixtures/', import.meta.url)));
const cases = fixtures.map((f) => [f.name, f] as const);

/** First, second, middle and last two checkpoints: replaying from genesis at each is quadratic. */
function genesisCheckpoints(fixture: Fixture): Checkpoint[] {
  const all = fixture.checkpoints;
  const picks = new Set([0, 1, Math.floor(all.length / 2), all.length - 2, all.length - 1]);
  return all.filter((_, i) => picks.has(i));
}

let pool: EmbeddedPool;
let agate: Agate;
let tenantId: string;
const sessionIds = new Map<string, string>();

function sessionOf(fixture: Fixture): string {
  const id = sessionIds.get(fixture.name);
  if (id === undefined) throw new Error(`fixture ${fixture.name} was not imported`);
  return id;
}

beforeAll(async () => {
  pool = await openEmbeddedPool({});
  const client = await pool.connectClient();
  try {
    await migrate(client);
  } finally {
    await client.end();
  }
  agate = createAgate({ pool, games: defaultGames });
  tenantId = (await createTenant(pool, { name: 'fixtures', actor: 'test' })).id;
  // Imported side by side as on a server; the embedded pool runs their transactions in turn.
  const ids = await Promise.all(fixtures.map((f) => importFixture(agate, tenantId, f)));
  fixtures.forEach((f, i) => sessionIds.set(f.name, ids[i] as string));
  await agate.idle();
});
afterAll(async () => {
  await agate?.close();
  await pool?.close();
});

describe('golden fixtures on the embedded pool', () => {
  it('finds the archive-gate-v1 fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(20);
  });

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
