import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createEventStore } from '../../src/events/index.js';
import type { EventStore } from '../../src/events/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyCatalog } from '../support/tiny-game.js';

// The plans game.append_events runs, as auto_explain reports them for its nested statements.
// Migration 0006's duplicate check read every event of the session through the primary key once
// the planner flattened it; 0007 keeps it a probe of (session_id, event_id) per id. A regression
// shows as a plan, whatever the timing.

type PlanNode = { 'Node Type': string; 'Index Name'?: string; Plans?: PlanNode[] };
type Explained = { 'Query Text': string; Plan: PlanNode };

let db: TestDatabase;
let store: EventStore;
let tenantId: string;
const explained: Explained[] = [];

function indexesOf(node: PlanNode): string[] {
  const own = node['Index Name'] === undefined ? [] : [node['Index Name']];
  return [...own, ...(node.Plans ?? []).flatMap(indexesOf)];
}

beforeAll(async () => {
  // One connection, so that the auto_explain settings hold for every append below.
  db = await createTestDatabase({ max: 1 });
  db.pool.on('connect', (client) => {
    client.on('notice', (notice) => {
      const text = notice.message ?? '';
      const at = text.indexOf('{');
      if (text.includes('plan:') && at >= 0)
        explained.push(JSON.parse(text.slice(at)) as Explained);
    });
  });
  store = createEventStore({ pool: db.pool, catalog: tinyCatalog });
  tenantId = (await createTenant(db.pool, { name: 'plan tenant', actor: 'test' })).id;
});
afterAll(() => db.drop());

const inc = (eventId: string) => ({
  eventId,
  type: 'counter.incremented',
  version: 1,
  data: { by: 1 },
});

/**
 * Runs `work` with auto_explain sending every nested plan to the client, and returns what it
 * returned with the plans of the duplicate probe among them.
 */
async function withProbePlans<T>(
  work: () => Promise<T>,
): Promise<{ result: T; probes: Explained[] }> {
  await db.pool.query(
    `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;
     SET auto_explain.log_nested_statements = on; SET auto_explain.log_format = 'json';
     SET auto_explain.log_level = 'notice'`,
  );
  explained.length = 0;
  try {
    const result = await work();
    const probes = explained.filter((e) => /ev\.event_id\s*=\s*x\.id/.test(e['Query Text']));
    return { result, probes };
  } finally {
    await db.pool.query('RESET auto_explain.log_min_duration');
  }
}

describe('the duplicate check of game.append_events', () => {
  it('probes the (session_id, event_id) index per id, even in a long session', async () => {
    const session = await store.createSession({ tenantId, rules: 'tiny' });
    const ref = { tenantId, sessionId: session.id };
    for (let i = 0; i < 40; i += 1) {
      const result = await store.appendEvents({
        ...ref,
        events: Array.from({ length: 50 }, () => inc(uuidv7())),
      });
      expect(result.ok).toBe(true);
    }
    await db.pool.query('ANALYZE game.events');
    const batch = Array.from({ length: 10 }, () => inc(uuidv7()));
    const { result: replies, probes: checks } = await withProbePlans(async () => [
      await store.appendEvents({ ...ref, events: batch }),
      await store.appendEvents({ ...ref, events: batch }),
    ]);

    expect(replies[0]).toMatchObject({ ok: true, duplicate: false, firstSequence: 2_001 });
    expect(replies[1]).toMatchObject({ ok: true, duplicate: true, firstSequence: 2_001 });
    expect(checks).toHaveLength(2);
    for (const check of checks) {
      const indexes = indexesOf(check.Plan);
      expect(indexes.length).toBeGreaterThan(0);
      expect(indexes.every((name) => name.endsWith('_session_id_event_id_idx'))).toBe(true);
    }
  });

  it('skips the probe for ids agate minted, and still probes the ids a client chose', async () => {
    const session = await store.createSession({ tenantId, rules: 'tiny' });
    const ref = { tenantId, sessionId: session.id };
    const stored = uuidv7();
    expect((await store.appendEvents({ ...ref, events: [inc(stored)] })).ok).toBe(true);
    const minted = { type: 'counter.incremented', version: 1, data: { by: 1 } };
    const { result: fresh, probes: probesForMinted } = await withProbePlans(() =>
      store.appendEvents({ ...ref, events: [minted, minted] }),
    );
    const { result: mixed, probes: probesForMixed } = await withProbePlans(() =>
      store.appendEvents({ ...ref, events: [minted, inc(stored)] }),
    );

    expect(fresh).toMatchObject({ ok: true, duplicate: false, firstSequence: 2 });
    expect(probesForMinted).toHaveLength(0);
    expect(mixed).toMatchObject({ ok: false, reason: 'event_id_conflict', currentSequence: 3 });
    expect(probesForMixed).toHaveLength(1);
  });
});
