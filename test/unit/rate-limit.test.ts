import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/api/rate-limit.js';

function limiter(perSecond: number, burst: number) {
  const clock = { now: 0 };
  return { clock, limiter: createRateLimiter({ perSecond, burst, now: () => clock.now }) };
}

describe('createRateLimiter', () => {
  it('grants the burst at once, then one request per 1/perSecond', () => {
    const { clock, limiter: l } = limiter(10, 3);
    for (let i = 0; i < 3; i += 1) expect(l.take('a')).toEqual({ ok: true });
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.now += 99;
    expect(l.take('a').ok).toBe(false);
    clock.now += 1;
    expect(l.take('a').ok).toBe(true);
    expect(l.take('a').ok).toBe(false);
  });

  it('says how many whole seconds to wait, at least 1', () => {
    const { clock, limiter: l } = limiter(0.25, 1);
    expect(l.take('a').ok).toBe(true);
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 4 });
    clock.now += 1_500;
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 3 });
    clock.now += 2_500;
    expect(l.take('a').ok).toBe(true);
  });

  it('keeps one bucket per key', () => {
    const { limiter: l } = limiter(1, 1);
    expect(l.take('a').ok).toBe(true);
    expect(l.take('a').ok).toBe(false);
    expect(l.take('b').ok).toBe(true);
  });

  it('drops buckets left alone until full, so the map holds only recent keys', () => {
    const { clock, limiter: l } = limiter(10, 5);
    for (let i = 0; i < 1_000; i += 1) l.take(`key-${i}`);
    expect(l.size()).toBe(1_000);
    clock.now += 400;
    l.take('key-0');
    expect(l.size()).toBe(1_000);
    clock.now += 100; // every bucket but key-0's is full again
    l.take('fresh');
    expect(l.size()).toBe(2);
    // A dropped bucket is indistinguishable from the full one it replaced.
    for (let i = 0; i < 5; i += 1) expect(l.take('key-1').ok).toBe(true);
    expect(l.take('key-1').ok).toBe(false);
  });

  it('refuses options that would refuse everything or nothing, naming the fix', () => {
    expect(() => createRateLimiter({ perSecond: 0, burst: 5 })).toThrow(/perSecond.*null/);
    expect(() => createRateLimiter({ perSecond: 5, burst: 0.5 })).toThrow(/burst.*null/);
    expect(() => createRateLimiter({ perSecond: Number.NaN, burst: 5 })).toThrow(/perSecond/);
  });
});
