import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { foldAll } from '../../replay/index.js';
import { archiveGateV1, defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { gateSessionArb, toEvents } from '../support/gate-actions.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: defaultGames });
  tenantId = (await createTenant(db.pool, { name: 'gate', actor: 'test' })).id;
});
afterAll(() => db.drop());

// The same equivalence as the pure property, through PostgreSQL: sessions appended in random
// batches (the inline snapshotter writing at every 50th event and every day end), then replayed
// from genesis, from the newest snapshot and with verify, to random sequences.
test('archive-gate sessions stored in PostgreSQL replay to the pure fold, by every path', async () => {
  await fc.assert(
    fc.asyncProperty(
      gateSessionArb,
      fc.integer({ min: 1, max: 60 }),
      fc.nat(),
      async (g, batch, cut) => {
        const { events } = toEvents(g);
        const session = await agate.store.createSession({
          tenantId,
          rules: 'archive-gate',
          seed: g.session.seed,
          config: g.session.config,
        });
        for (let i = 0; i < events.length; i += batch) {
          const slice = events
            .slice(i, i + batch)
            .map((e) => ({ type: e.type, version: e.version, data: e.data }));
          expect(
            (
              await agate.store.appendEvents({
                tenantId,
                sessionId: session.id,
                events: slice,
                recordedSeeds: true,
              })
            ).ok,
          ).toBe(true);
        }
        const identity = { ...g.session, sessionId: session.id, tenantId };
        const to = events.length === 0 ? 0 : cut % (events.length + 1);
        const expected = foldAll(archiveGateV1, identity, events.slice(0, to)).stateHash;
        const fromSnapshot = await agate.replay({ tenantId, sessionId: session.id, to });
        const fromGenesis = await agate.replay({
          tenantId,
          sessionId: session.id,
          to,
          from: 'genesis',
        });
        expect([fromSnapshot.stateHash, fromGenesis.stateHash]).toEqual([expected, expected]);
        const verified = await agate.replay({ tenantId, sessionId: session.id, verify: true });
        expect(verified).toMatchObject({
          verified: true,
          stateHash: foldAll(archiveGateV1, identity, events).stateHash,
        });
      },
    ),
    { numRuns: 100 },
  );
});
