import fc from 'fast-check';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { PoolClient } from '../../src/db/index.js';
import { compareFeedPositions, feedStart, readFeed } from '../../src/events/index.js';
import type { FeedEvent, FeedPosition, Session } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { insertIn, openWriter } from '../support/feed-writers.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames } from '../support/tiny-rules.js';

// The feed against a model of PostgreSQL's commit order: writers take their transaction ids in
// one order and commit or roll back in another, while a reader pages through the feed and moves
// its checkpoint. Whatever the interleaving, the reader ends with exactly the committed events,
// each once, every session in sequence order, and its checkpoint never passes one it missed.

let db: TestDatabase;
let agate: Agate;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames, consumers: false });
});
afterAll(() => db.drop());

type Step =
  | { kind: 'begin'; session: number; events: number }
  | { kind: 'end'; writer: number; commit: boolean }
  | { kind: 'read'; limit: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('begin' as const),
    session: fc.nat({ max: 3 }),
    events: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('end' as const),
    writer: fc.nat({ max: 5 }),
    commit: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('read' as const), limit: fc.integer({ min: 1, max: 4 }) }),
);

type Open = { client: PoolClient; session: number; keys: string[]; xid: string };

type Run = {
  tenantId: string;
  sessions: Session[];
  open: Open[];
  committed: Set<string>;
  delivered: FeedEvent[];
  after: FeedPosition;
  /** Events committed after the reader had already received one with a higher position. */
  lateCommits: number;
};

const key = (sessionId: string, sequence: number) => `${sessionId}#${sequence}`;

async function read(run: Run, limit: number): Promise<void> {
  const page = await readFeed(
    { pool: db.pool },
    { tenantId: run.tenantId, after: run.after, limit },
  );
  run.delivered.push(...page.events);
  run.after = page.events.at(-1)?.position ?? run.after;
}

async function apply(run: Run, s: Step): Promise<void> {
  if (s.kind === 'read') return read(run, s.limit);
  if (s.kind === 'begin') {
    // One open writer per session: a second would wait on the first one's row lock.
    if (run.open.some((o) => o.session === s.session)) return;
    const session = run.sessions[s.session]!;
    const client = await openWriter(db.pool);
    const state = await client.query<{ n: number; xid: string }>(
      'SELECT last_sequence::int AS n, pg_current_xact_id()::text AS xid FROM game.sessions WHERE id = $1',
      [session.id],
    );
    const { n: from, xid } = state.rows[0]!;
    await insertIn(client, session, s.events);
    const keys = Array.from({ length: s.events }, (_, i) => key(session.id, from + i + 1));
    run.open.push({ client, session: s.session, keys, xid });
    return;
  }
  const writer = run.open[s.writer % Math.max(run.open.length, 1)];
  if (writer === undefined) return;
  run.open.splice(run.open.indexOf(writer), 1);
  // A reader of "position > checkpoint" would already have passed this writer's events if a
  // later transaction's events are visible now.
  const overtaken = await db.pool.query<{ yes: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM game.events WHERE tenant_id = $1 AND transaction_id > $2::xid8) AS yes',
    [run.tenantId, writer.xid],
  );
  try {
    await writer.client.query(s.commit ? 'COMMIT' : 'ROLLBACK');
  } finally {
    writer.client.release();
  }
  if (!s.commit) return;
  if (overtaken.rows[0]?.yes === true) run.lateCommits += 1;
  for (const k of writer.keys) run.committed.add(k);
}

test('a reader of the feed ends with exactly the committed events, in order, whatever the commit order', async () => {
  let lateCommits = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 5, maxLength: 40, size: 'max' }),
      async (steps) => {
        const tenantId = (await createTenant(db.pool, { name: `feed-${uuidv7()}`, actor: 'test' }))
          .id;
        const sessions = await Promise.all(
          [0, 1, 2, 3].map(() => agate.store.createSession({ tenantId, rules: 'tiny' })),
        );
        const run: Run = {
          tenantId,
          sessions,
          open: [],
          committed: new Set(),
          delivered: [],
          after: feedStart,
          lateCommits: 0,
        };
        try {
          for (const s of steps) await apply(run, s);
        } finally {
          for (const o of run.open.splice(0)) {
            await o.client.query('COMMIT');
            o.client.release();
            for (const k of o.keys) run.committed.add(k);
          }
        }
        for (;;) {
          const seen = run.delivered.length;
          await read(run, 50);
          if (run.delivered.length === seen) break;
        }
        const delivered = run.delivered.map((e) => key(e.sessionId, e.sequence));
        expect(new Set(delivered).size).toBe(delivered.length);
        expect([...delivered].sort()).toEqual([...run.committed].sort());
        for (let i = 1; i < run.delivered.length; i += 1)
          expect(
            compareFeedPositions(run.delivered[i - 1]!.position, run.delivered[i]!.position),
          ).toBeLessThan(0);
        for (const s of sessions) {
          const own = run.delivered.filter((e) => e.sessionId === s.id).map((e) => e.sequence);
          expect(own).toEqual(own.map((_, i) => i + 1));
        }
        lateCommits += run.lateCommits;
      },
    ),
    { numRuns: 100 },
  );
  // The hazard really happened: writers committed after later transactions' events were visible.
  expect(lateCommits).toBeGreaterThan(10);
}, 120_000);
