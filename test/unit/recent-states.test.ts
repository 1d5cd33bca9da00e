import { describe, expect, it } from 'vitest';
import { createSessionQueue } from '../../src/events/session-queue.js';
import { createRecentStates } from '../../src/verdicts/index.js';

const tenant = '01900000-0000-7000-8000-00000000000a';
const other = '01900000-0000-7000-8000-00000000000b';
const session = (n: number) => `01900000-0000-7000-8000-0000000000${String(n).padStart(2, '0')}`;
const entry = (sequence: number) => ({ sequence, chainHash: null, state: { sequence } });

describe('recent states', () => {
  it('keeps at most its capacity, dropping the least recently used', () => {
    const recent = createRecentStates(2);
    recent.set(tenant, session(1), entry(1));
    recent.set(tenant, session(2), entry(1));
    expect(recent.get(tenant, session(1))?.sequence).toBe(1);
    recent.set(tenant, session(3), entry(1));
    expect(recent.get(tenant, session(2))).toBeUndefined();
    expect([recent.get(tenant, session(1)), recent.get(tenant, session(3))]).not.toContain(
      undefined,
    );
    expect(recent.size).toBe(2);
  });

  it('keys by tenant and session, whatever the case of the ids', () => {
    const recent = createRecentStates();
    recent.set(tenant, session(1), entry(4));
    expect(recent.get(other, session(1))).toBeUndefined();
    expect(recent.get(tenant.toUpperCase(), session(1).toUpperCase())?.sequence).toBe(4);
  });

  it('never rolls an entry back to an older sequence, and keeps nothing at capacity 0', () => {
    const recent = createRecentStates();
    recent.set(tenant, session(1), entry(5));
    recent.set(tenant, session(1), entry(3));
    expect(recent.get(tenant, session(1))?.sequence).toBe(5);
    const none = createRecentStates(0);
    none.set(tenant, session(1), entry(1));
    expect(none.size).toBe(0);
    expect(() => createRecentStates(-1)).toThrow(/non-negative integer/);
  });
});

describe('the session queue', () => {
  it('runs one session’s work in arrival order, even after a failure, and others alongside', async () => {
    const queue = createSessionQueue();
    const order: string[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = queue('a', async () => {
      await gate;
      order.push('a1');
      throw new Error('a1 failed');
    });
    const second = queue('a', () => Promise.resolve(order.push('a2')));
    const elsewhere = queue('b', () => Promise.resolve(order.push('b1')));
    await elsewhere;
    expect(order).toEqual(['b1']);
    release();
    await expect(first).rejects.toThrow('a1 failed');
    await second;
    expect(order).toEqual(['b1', 'a1', 'a2']);
  });
});
