import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  createRateLimiter,
  effectiveRateLimit,
  registerRateLimit,
} from '../../src/api/rate-limit.js';
import type { RateLimitSetting } from '../../src/keys/index.js';

function limiter(perSecond: number, burst: number) {
  const clock = { now: 0 };
  const l = createRateLimiter({ now: () => clock.now });
  const limit = { perSecond, burst };
  return { clock, l, take: (keyId: string) => l.take(keyId, limit) };
}

describe('createRateLimiter', () => {
  it('grants the burst at once, then one request per 1/perSecond', () => {
    const { clock, take } = limiter(10, 3);
    for (let i = 0; i < 3; i += 1) expect(take('a')).toEqual({ ok: true });
    expect(take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.now += 99;
    expect(take('a').ok).toBe(false);
    clock.now += 1;
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(false);
  });

  it('says how many whole seconds to wait, at least 1', () => {
    const { clock, take } = limiter(0.25, 1);
    expect(take('a').ok).toBe(true);
    expect(take('a')).toEqual({ ok: false, retryAfterSeconds: 4 });
    clock.now += 1_500;
    expect(take('a')).toEqual({ ok: false, retryAfterSeconds: 3 });
    clock.now += 2_500;
    expect(take('a').ok).toBe(true);
  });

  it('keeps one bucket per key', () => {
    const { take } = limiter(1, 1);
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(false);
    expect(take('b').ok).toBe(true);
  });

  it('gives each key the limit it brings: its own rate and burst', () => {
    const clock = { now: 0 };
    const l = createRateLimiter({ now: () => clock.now });
    const small: RateLimitSetting = { perSecond: 1, burst: 2 };
    const large: RateLimitSetting = { perSecond: 100, burst: 10 };
    for (let i = 0; i < 2; i += 1) expect(l.take('small', small).ok).toBe(true);
    expect(l.take('small', small).ok).toBe(false);
    for (let i = 0; i < 10; i += 1) expect(l.take('large', large).ok).toBe(true);
    expect(l.take('large', large).ok).toBe(false);
    clock.now += 10; // one token of the large rate, a hundredth of the small one
    expect(l.take('large', large).ok).toBe(true);
    expect(l.take('small', small).ok).toBe(false);
  });

  it('applies a changed limit from the next request: a lowered burst drops the tokens above it', () => {
    const { l } = limiter(10, 10);
    expect(l.take('a', { perSecond: 10, burst: 10 }).ok).toBe(true);
    const lowered = { perSecond: 10, burst: 2 };
    expect(l.take('a', lowered).ok).toBe(true);
    expect(l.take('a', lowered).ok).toBe(true);
    expect(l.take('a', lowered).ok).toBe(false);
  });

  it('drops buckets left alone until full, so the map holds only recent keys', () => {
    const { clock, l, take } = limiter(10, 5);
    for (let i = 0; i < 1_000; i += 1) take(`key-${i}`);
    expect(l.size()).toBe(1_000);
    clock.now += 400;
    take('key-0');
    expect(l.size()).toBe(1_000);
    clock.now += 100; // every bucket but key-0's is full again
    take('fresh');
    expect(l.size()).toBe(2);
    // A dropped bucket is indistinguishable from the full one it replaced.
    for (let i = 0; i < 5; i += 1) expect(take('key-1').ok).toBe(true);
    expect(take('key-1').ok).toBe(false);
  });
});

describe('effectiveRateLimit', () => {
  const server = { perSecond: 2000, burst: 4000 };
  const key = { id: 'k', tenantId: 't', role: 'game_server' } as const;

  it('takes the limit found with the key (its own or its tenant’s) over the server’s', () => {
    const own = { perSecond: 5, burst: 6, source: 'key' } as const;
    const tenant = { perSecond: 7, burst: 8, source: 'tenant' } as const;
    expect(effectiveRateLimit({ ...key, rateLimit: own }, server)).toEqual(own);
    expect(effectiveRateLimit({ ...key, rateLimit: tenant }, null)).toEqual(tenant);
    expect(effectiveRateLimit({ ...key, rateLimit: null }, server)).toEqual({
      ...server,
      source: 'server',
    });
    expect(effectiveRateLimit({ id: 'o', role: 'operator' }, server)?.source).toBe('server');
    expect(effectiveRateLimit({ ...key, rateLimit: null }, null)).toBeNull();
  });
});

describe('registerRateLimit', () => {
  it('refuses server options that would refuse everything or nothing, naming the fix', () => {
    const app = Fastify();
    expect(() => registerRateLimit(app, { perSecond: 0, burst: 5 })).toThrow(/perSecond.*null/);
    expect(() => registerRateLimit(app, { perSecond: 5, burst: 0.5 })).toThrow(/burst.*null/);
    expect(() => registerRateLimit(app, { perSecond: Number.NaN, burst: 5 })).toThrow(/perSecond/);
  });
});
