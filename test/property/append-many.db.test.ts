import fc from 'fast-check';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { AppendResult, SessionAppendResult } from '../../src/events/index.js';
import { createStoreFixture } from '../support/store-fixture.js';
import type { StoreFixture } from '../support/store-fixture.js';

let f: StoreFixture;
let tenantId: string;

beforeAll(async () => {
  f = await createStoreFixture();
  tenantId = await f.newTenant();
});
afterAll(() => f.db.drop());

/** What one session of a request sends: a new event, a stale one, a bad one, or its last again. */
const kinds = ['new', 'stale', 'invalid', 'retry', 'changed'] as const;
type Step = { session: number; kind: (typeof kinds)[number] };
type Sent = { by: number; eventId: string };

const request = fc.uniqueArray(
  fc.record({ session: fc.integer({ min: 0, max: 3 }), kind: fc.constantFrom(...kinds) }),
  { minLength: 1, maxLength: 4, selector: (s) => s.session },
);

async function sessions(): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 4; i += 1) {
    ids.push((await f.store.createSession({ tenantId, rules: 'tiny' })).id);
  }
  return ids;
}

function batchOf(step: Step, sent: Sent[]) {
  const previous = sent.at(-1);
  const again = step.kind === 'retry' || step.kind === 'changed';
  const event =
    again && previous !== undefined
      ? { ...previous, by: step.kind === 'changed' ? previous.by + 1 : previous.by }
      : { by: step.kind === 'invalid' ? Number.NaN : sent.length, eventId: uuidv7() };
  if (!again || previous === undefined) sent.push(event);
  return {
    events: [
      { type: 'counter.incremented', version: 1, data: { by: event.by }, eventId: event.eventId },
    ],
    expectedSequence: step.kind === 'stale' ? 1_000 : undefined,
  };
}

const outcome = (r: AppendResult | SessionAppendResult) =>
  r.ok ? { duplicate: r.duplicate, first: r.firstSequence, last: r.lastSequence } : r.reason;

test('appendMany agrees with appending the same batches one by one', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 5 }), async (requests) => {
      const many = await sessions();
      const single = await sessions();
      const sent: Sent[][] = [[], [], [], []];
      for (const steps of requests) {
        const batches = steps.map((s) => ({ ...batchOf(s, sent[s.session]!), session: s.session }));
        const { results } = await f.store.appendMany({
          tenantId,
          batches: batches.map((b) => ({ ...b, sessionId: many[b.session]! })),
        });
        for (const [i, b] of batches.entries()) {
          const one = await f.store
            .appendEvents({ ...b, tenantId, sessionId: single[b.session]! })
            .catch((error: { code: 'invalid_event' }) => ({
              ok: false as const,
              reason: error.code,
              message: '',
              currentSequence: null,
            }));
          expect(outcome(results[i]!)).toEqual(outcome(one as AppendResult));
        }
      }
    }),
    { numRuns: 20 },
  );
});
