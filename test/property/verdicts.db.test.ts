import fc from 'fast-check';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createEventStore } from '../../src/events/index.js';
import type { AppendResult, EventStore, NewEvent } from '../../src/events/index.js';
import { defaultGames } from '../../src/game/index.js';
import type { Verdict } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createBatchJudge } from '../../src/verdicts/index.js';
import { gateSessionArb, toEvents } from '../support/gate-actions.js';
import { replayedVerdicts } from '../support/replayed-verdicts.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let agate: Agate;
/** A second writer on the same database that keeps no recent state: snapshot and tail each time. */
let cold: EventStore;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: defaultGames });
  cold = createEventStore({
    pool: db.pool,
    catalog: defaultGames.eventTypes,
    judge: createBatchJudge({ pool: db.pool, games: defaultGames, recentStates: 0 }),
  });
  tenantId = (await createTenant(db.pool, { name: 'verdicts', actor: 'test' })).id;
});
afterAll(async () => {
  await agate.close();
  await db.drop();
});

const batchArb = fc.record({
  size: fc.integer({ min: 1, max: 20 }),
  mode: fc.constantFrom('report' as const, 'refuse' as const),
  writer: fc.constantFrom('warm' as const, 'cold' as const),
  retry: fc.boolean(),
});

const caseArb = fc.record({
  game: gateSessionArb.map((g) => ({ ...g, moves: g.moves.slice(0, 90) })),
  batches: fc.array(batchArb, { minLength: 1, maxLength: 40 }),
});

/** What an answer claimed: verdicts from `after`, the hash at `after + verdicts.length`. */
type Claim = { after: number; verdicts: Verdict[]; stateHash?: string };

function claimOf(result: AppendResult): Claim {
  if (result.ok) {
    return {
      after: result.firstSequence - 1,
      verdicts: result.verdicts ?? [],
      stateHash: result.stateHash,
    };
  }
  if (result.reason !== 'rules_rejected') throw new Error(`refused: ${result.message}`);
  return { after: result.currentSequence ?? 0, verdicts: result.verdicts };
}

// The verdicts are computed from the warm in-process state, the hot path's snapshot and tail, or
// both in turn (each writer makes the other's state stale); with the server's own seeds for
// day.ended. A refused batch is then stored with report, so its verdicts meet the replay too.
test('every verdict and state hash of an append equals a full replay from genesis', async () => {
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ game, batches }) => {
      const events: NewEvent[] = toEvents(game).events.map((e) => ({
        eventId: uuidv7(),
        type: e.type,
        version: e.version,
        data: e.type === 'day.ended' ? {} : e.data,
      }));
      const session = await agate.store.createSession({
        tenantId,
        rules: 'archive-gate',
        config: game.session.config,
      });
      const ref = { tenantId, sessionId: session.id };
      const claims: Claim[] = [];
      let next = 0;
      for (const batch of batches) {
        if (next >= events.length) break;
        const slice = events.slice(next, next + batch.size);
        next += slice.length;
        const store = batch.writer === 'warm' ? agate.store : cold;
        const input = { ...ref, events: slice, verdicts: batch.mode };
        const result = await store.appendEvents(input);
        claims.push(claimOf(result));
        if (!result.ok) {
          expect(claims.at(-1)?.verdicts.some((v) => !v.accepted)).toBe(true);
          claims.push(claimOf(await store.appendEvents({ ...input, verdicts: 'report' })));
        }
        if (batch.retry) {
          const again = await agate.store.appendEvents({ ...input, verdicts: 'report' });
          expect(again.ok && again.duplicate).toBe(true);
          expect(claimOf(again)).toEqual(claims.at(-1));
        }
      }
      const replayed = await replayedVerdicts(agate.store, defaultGames, ref);
      for (const claim of claims) {
        const end = claim.after + claim.verdicts.length;
        expect(claim.verdicts).toEqual(replayed.verdicts.slice(claim.after, end));
        if (claim.stateHash !== undefined) expect(claim.stateHash).toBe(replayed.hashes[end]);
      }
    }),
    { numRuns: 200 },
  );
});
