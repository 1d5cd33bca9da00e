import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { defaultLimits, prepareBatch, shapeBatch } from '../../src/events/index.js';
import { createEventTypeCatalog, defineEventTypes, gateEventTypes } from '../../src/game/index.js';
import { eventContentHash } from '../../src/hashing/index.js';
import { tinyGame } from '../support/tiny-game.js';

const prepare = (events: unknown[], seedFor = (_id: string) => 'fixed-seed') =>
  prepareBatch(tinyGame, shapeBatch(events, defaultLimits), { seedFor, recordedSeeds: false });

describe('preparing a batch', () => {
  it('fills a recorded seed only where the type consumes randomness and none was given', () => {
    const [a, b, c] = prepare([
      { type: 'dice.rolled', data: { sides: 6 } },
      { type: 'dice.rolled', data: { sides: 6, seed: 'client' } },
      { type: 'counter.incremented', version: 1, data: { by: 1 } },
    ]);
    expect(a?.data).toEqual({ sides: 6, seed: 'fixed-seed' });
    expect(b?.data).toEqual({ sides: 6, seed: 'client' });
    expect(c?.data).toEqual({ by: 1 });
  });

  it("asks for the server's seed of each seedless randomness event by its own event id", () => {
    const ids = ['0190a6c8-0000-7000-8000-000000000001', '0190a6c8-0000-7000-8000-000000000002'];
    const events = prepare(
      ids.map((eventId) => ({ eventId, type: 'dice.rolled', data: { sides: 6 } })),
      (id) => `seed-of-${id}`,
    );
    expect(events.map((e) => e.data.seed)).toEqual(ids.map((id) => `seed-of-${id}`));
  });

  it("refuses a client's seed where the rules let only the server draw it, and keeps recorded ones", () => {
    const batch = shapeBatch([{ type: 'day.ended', data: { seed: 'chosen' } }], defaultLimits);
    const live = { seedFor: () => 'server', recordedSeeds: false };
    expect(() => prepareBatch(gateEventTypes, batch, live)).toThrow(
      expect.objectContaining({
        code: 'seed_not_allowed',
        details: { index: 0, eventType: 'day.ended' },
      }),
    );
    const [kept] = prepareBatch(gateEventTypes, batch, { ...live, recordedSeeds: true });
    expect(kept?.data).toEqual({ seed: 'chosen' });
    const [drawn] = prepareBatch(
      gateEventTypes,
      shapeBatch([{ type: 'day.ended', data: {} }], defaultLimits),
      live,
    );
    expect(drawn?.data).toEqual({ seed: 'server' });
  });

  it('hashes what will be stored: lower-case ids, the resolved version, the validated data', () => {
    const [e] = prepare([
      {
        eventId: '0190A6C8-0000-7000-8000-00000000000A',
        type: 'note.written',
        data: { text: 'x' },
      },
    ]);
    expect(e?.eventId).toBe('0190a6c8-0000-7000-8000-00000000000a');
    expect(e?.version).toBe(1);
    expect(e?.contentHash).toBe(
      eventContentHash({
        eventId: e?.eventId ?? '',
        type: 'note.written',
        version: 1,
        data: { text: 'x' },
      }).toString('hex'),
    );
  });

  it('generates time-ordered UUIDv7 ids when the client gives none', () => {
    const events = prepare([
      { type: 'note.written', data: { text: 'a' } },
      { type: 'note.written', data: { text: 'b' } },
    ]);
    expect(events.map((e) => e.eventId.charAt(14))).toEqual(['7', '7']);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(2);
  });

  it('normalises clientTime to UTC ISO 8601', () => {
    const [e] = prepare([
      { type: 'note.written', data: { text: 'a' }, clientTime: '2026-11-23T13:00:00+01:00' },
    ]);
    expect(e?.clientTime).toBe('2026-11-23T12:00:00.000Z');
  });

  it('counts the size limit in UTF-8 bytes', () => {
    const limits = { ...defaultLimits, maxEventBytes: 20 };
    expect(() =>
      shapeBatch([{ type: 'note.written', data: { text: 'éééé' } }], limits),
    ).not.toThrow();
    expect(() => shapeBatch([{ type: 'note.written', data: { text: 'ééééé' } }], limits)).toThrow(
      /over the limit of 20/,
    );
  });

  it('honours a configured batch limit', () => {
    const limits = { ...defaultLimits, maxBatchEvents: 2 };
    const event = { type: 'note.written', data: { text: 'a' } };
    expect(() => shapeBatch([event, event, event], limits)).toThrow(
      expect.objectContaining({ code: 'batch_too_large' }),
    );
  });
});

describe('event type registries', () => {
  it('add session.ended to every rules version', () => {
    expect(tinyGame.find('session.ended', 1)?.consumesRandomness).toBe(false);
  });

  it('refuse a type defined twice and badly named types', () => {
    const def = { type: 'a.b', version: 1, schema: z.object({}), consumesRandomness: false };
    expect(() => defineEventTypes('g', 1, [def, def])).toThrow(/define a\.b@1 twice/);
    expect(() => defineEventTypes('g', 1, [{ ...def, type: 'Bad Name' }])).toThrow(
      /dotted lower-case/,
    );
    expect(() => defineEventTypes('g', 1, [{ ...def, version: 0 }])).toThrow(
      /positive integer version/,
    );
  });

  it('find rules by name and version and know the newest', () => {
    const v2 = defineEventTypes('tiny', 2, []);
    const catalog = createEventTypeCatalog([tinyGame, v2]);
    expect(catalog.latestRulesVersion('tiny')).toBe(2);
    expect(catalog.find('tiny', 1)).toBe(tinyGame);
    expect(catalog.find('chess', 1)).toBeUndefined();
    expect(() => createEventTypeCatalog([tinyGame, tinyGame])).toThrow(/registered twice/);
  });
});
