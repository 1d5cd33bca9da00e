import fc from 'fast-check';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { foldAll } from '../../replay/index.js';
import type { ReplayEvent } from '../../replay/index.js';
import type { NewEvent, Session } from '../../src/events/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { tinyGames, tinyRules } from '../support/tiny-rules.js';

let db: TestDatabase;
let agate: Agate;
let tenantId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  agate = createAgate({ pool: db.pool, games: tinyGames });
  tenantId = (await createTenant(db.pool, { name: 'model', actor: 'test' })).id;
});
afterAll(() => db.drop());

/** What the store should hold: the events in order, and the last batch sent (for retries). */
type Model = {
  events: ReplayEvent[];
  ended: boolean;
  lastBatch: NewEvent[] | null;
  lastFirst: number;
};
type Real = { session: Session };

const eventOf = (kind: number, by: number): NewEvent => {
  if (kind === 0)
    return { eventId: uuidv7(), type: 'dice.rolled', data: { sides: 6, seed: `s${by}` } };
  if (kind === 1) return { eventId: uuidv7(), type: 'note.written', data: { text: `n${by}` } };
  return { eventId: uuidv7(), type: 'counter.incremented', version: 1, data: { by } };
};

class Append implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly specs: [number, number][],
    readonly expected: 'none' | 'right' | 'stale',
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const batch = this.specs.map(([kind, by]) => eventOf(kind, by));
    const expectedSequence =
      this.expected === 'none'
        ? undefined
        : this.expected === 'right'
          ? m.events.length
          : m.events.length + 1;
    const result = await agate.store.appendEvents({
      tenantId,
      sessionId: r.session.id,
      expectedSequence,
      events: batch,
    });
    if (m.ended) {
      expect(result).toMatchObject({ ok: false, reason: 'session_ended' });
      return;
    }
    if (this.expected === 'stale') {
      expect(result).toMatchObject({
        ok: false,
        reason: 'sequence_conflict',
        currentSequence: m.events.length,
      });
      return;
    }
    expect(result).toMatchObject({
      ok: true,
      duplicate: false,
      firstSequence: m.events.length + 1,
    });
    m.lastFirst = m.events.length + 1;
    batch.forEach((e, i) =>
      m.events.push({
        sequence: m.lastFirst + i,
        eventId: e.eventId ?? '',
        type: e.type,
        version: e.version ?? 1,
        data: e.data as Record<string, unknown>,
      }),
    );
    m.lastBatch = batch;
  }
  toString = () => `append(${this.specs.length}, ${this.expected})`;
}

class Retry implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.lastBatch !== null;
  async run(m: Model, r: Real): Promise<void> {
    const result = await agate.store.appendEvents({
      tenantId,
      sessionId: r.session.id,
      expectedSequence: 0,
      events: m.lastBatch ?? [],
    });
    expect(result).toMatchObject({ ok: true, duplicate: true, firstSequence: m.lastFirst });
  }
  toString = () => 'retry';
}

/** How a retry can differ from the batch it repeats while keeping every event id. */
const changeKinds = ['data', 'type', 'version', 'clientTime'] as const;
type ChangeKind = (typeof changeKinds)[number];

/** The same event with other valid data: one more, another text, another number of sides. */
function otherData(e: NewEvent): Record<string, unknown> {
  const data = e.data as Record<string, unknown>;
  if (e.type === 'counter.incremented') return { ...data, by: (data.by as number) + 1 };
  if (e.type === 'note.written') return { text: `${String(data.text)}!` };
  return { ...data, sides: (data.sides as number) + 1 };
}

function changedEvent(e: NewEvent, kind: ChangeKind): NewEvent {
  switch (kind) {
    case 'data':
      return { ...e, data: otherData(e) };
    case 'type':
      return e.type === 'note.written'
        ? { ...e, type: 'counter.incremented', version: 1, data: { by: 0 } }
        : { ...e, type: 'note.written', version: 1, data: { text: 'changed' } };
    case 'version':
      // Only counter.incremented has two versions; the others change their data instead.
      return e.type === 'counter.incremented'
        ? { ...e, version: 2, data: { ...(e.data as Record<string, unknown>), note: '' } }
        : { ...e, data: otherData(e) };
    case 'clientTime':
      return { ...e, clientTime: '2026-11-23T12:00:00Z' };
  }
}

// A retry that keeps the ids but changes one event is a conflict naming that event; the model
// (and so the final replay) proves nothing was stored.
class ChangedRetry implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: number,
    readonly kind: ChangeKind,
  ) {}
  check = (m: Readonly<Model>) => m.lastBatch !== null;
  async run(m: Model, r: Real): Promise<void> {
    const batch = m.lastBatch ?? [];
    const index = this.at % batch.length;
    const events = batch.map((e, i) => (i === index ? changedEvent(e, this.kind) : e));
    const result = await agate.store.appendEvents({ tenantId, sessionId: r.session.id, events });
    expect(result).toMatchObject({
      ok: false,
      reason: 'event_id_conflict',
      index,
      eventId: batch[index]?.eventId,
      currentSequence: m.events.length,
    });
  }
  toString = () => `changedRetry(${this.at}, ${this.kind})`;
}

class Snapshot implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.events.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const written = await agate.snapshot({ tenantId, sessionId: r.session.id });
    expect(written.sequence).toBe(m.events.length);
    expect(written.stateHash).toBe(foldAll(tinyRules, identity(r.session), m.events).stateHash);
  }
  toString = () => 'snapshot';
}

class Replay implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly at: number,
    readonly from: 'snapshot' | 'genesis',
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const to = m.events.length === 0 ? 0 : this.at % (m.events.length + 1);
    const got = await agate.replay({ tenantId, sessionId: r.session.id, to, from: this.from });
    expect(got.sequence).toBe(to);
    expect(got.stateHash).toBe(
      foldAll(tinyRules, identity(r.session), m.events.slice(0, to)).stateHash,
    );
  }
  toString = () => `replay(${this.at}, ${this.from})`;
}

class End implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const eventId = uuidv7();
    const result = await agate.store.endSession({ tenantId, sessionId: r.session.id, eventId });
    if (m.ended) {
      expect(result).toMatchObject({ ok: false, reason: 'session_ended' });
      return;
    }
    expect(result).toMatchObject({ ok: true, firstSequence: m.events.length + 1 });
    m.events.push({
      sequence: m.events.length + 1,
      eventId,
      type: 'session.ended',
      version: 1,
      data: {},
    });
    m.ended = true;
    m.lastBatch = null;
  }
  toString = () => 'end';
}

const identity = (s: Session) => ({
  sessionId: s.id,
  tenantId: s.tenantId,
  seed: s.seed,
  rules: s.rules,
  rulesVersion: s.rulesVersion,
  config: s.config,
});

const commands = [
  fc
    .tuple(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: -5, max: 5 })), {
        minLength: 1,
        maxLength: 30,
      }),
      fc.constantFrom('none' as const, 'right' as const, 'stale' as const),
    )
    .map(([specs, expected]) => new Append(specs, expected)),
  fc.constant(new Retry()),
  fc
    .tuple(fc.nat(), fc.constantFrom(...changeKinds))
    .map(([at, kind]) => new ChangedRetry(at, kind)),
  fc.constant(new Snapshot()),
  fc
    .tuple(fc.nat(), fc.constantFrom('snapshot' as const, 'genesis' as const))
    .map(([at, from]) => new Replay(at, from)),
  fc.constant(new End()),
];

// Random interleavings of appends, retries (faithful and changed), snapshots, replays to random sequences and ends,
// against a model that is just the list of events: the store must agree with it at every step.
test('the store behaves like a list of events under any sequence of operations', async () => {
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 12, size: '+1' }), async (cmds) => {
      const session = await agate.store.createSession({ tenantId, rules: 'tiny' });
      const model: Model = { events: [], ended: false, lastBatch: null, lastFirst: 0 };
      await fc.asyncModelRun(() => ({ model, real: { session } }), cmds);
      const final = await agate.replay({ tenantId, sessionId: session.id, verify: true });
      expect(final.verified).toBe(true);
      expect(final.stateHash).toBe(foldAll(tinyRules, identity(session), model.events).stateHash);
    }),
    { numRuns: 500 },
  );
});
