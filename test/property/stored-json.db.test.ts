import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { findJsonProblem } from '../../src/events/index.js';
import { firstBrokenLink } from '../support/chain.js';
import { allEvents, createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture();
  tenantId = await f.newTenant();
});
afterAll(() => f.db.drop());

// Any JSON the store accepts must read back from jsonb equal, and hash to the same chain: numbers
// at the edges of doubles, every Unicode plane, keys in any order, empty containers.
test('whatever JSON is stored reads back equal and keeps its hash chain', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.jsonValue({ stringUnit: 'binary', maxDepth: 6 }), { minLength: 1, maxLength: 5 }),
      async (values) => {
        const session = await f.store.createSession({ tenantId, rules: 'tiny' });
        const events = values.map((extra) => ({
          type: 'note.written',
          data: { text: 't', extra },
        }));
        const problem = values.map((v) => findJsonProblem(v, 30)).find((p) => p !== undefined);
        const attempt = f.store.appendEvents({ tenantId, sessionId: session.id, events });
        if (problem !== undefined) {
          await expect(attempt).rejects.toMatchObject({ code: 'invalid_event' });
          return;
        }
        await expect(attempt).resolves.toMatchObject({ ok: true });
        const stored = await allEvents(f.store, session);
        expect(stored.map((e) => e.data.extra)).toEqual(
          values.map((v) => JSON.parse(JSON.stringify(v)) as unknown),
        );
        const current = await f.store.getSession({ tenantId, sessionId: session.id });
        expect(firstBrokenLink(current, stored)).toBeNull();
      },
    ),
    { numRuns: 300 },
  );
});
