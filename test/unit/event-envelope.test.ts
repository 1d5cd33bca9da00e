import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from '../../src/api/openapi.js';
import {
  defaultLimits,
  eventBatchSchema,
  eventEnvelopeSchema,
  eventTypeLength,
  minEventVersion,
  shapeBatch,
} from '../../src/events/index.js';

type JsonSchema = Record<string, unknown>;

const documented = openApiDocument([], { version: 'test' }) as {
  components: { schemas: Record<string, JsonSchema> };
};
const newEvent = documented.components.schemas.NewEvent ?? {};
// The document's reading of format uuid (RFC 9562's text form); its date-time is described, and
// the grammar the store applies is client-time.ts's, tested on its own.
const ajv = new Ajv2020({
  strict: false,
  formats: {
    uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    'date-time': true,
  },
});
const documentAccepts = ajv.compile(newEvent);

function storeAccepts(raw: unknown): boolean {
  try {
    shapeBatch([raw], defaultLimits);
    return true;
  } catch {
    return false;
  }
}

function verdicts(raw: unknown): { store: boolean; schema: boolean; document: boolean } {
  return {
    store: storeAccepts(raw),
    schema: eventEnvelopeSchema.safeParse(raw).success,
    document: documentAccepts(raw),
  };
}

const id = '0190a6c8-0000-7000-8000-000000000001';
const time = '2026-11-23T12:00:00Z';
const base = { type: 'note.written', data: { text: 'a' } };

// Each differs from an accepted envelope in one field, on either side of each rule.
const envelopes: [string, unknown, boolean][] = [
  ['the smallest envelope', base, true],
  ['every field', { ...base, eventId: id, version: 1, clientTime: time }, true],
  ['an upper-case event id', { ...base, eventId: id.toUpperCase() }, true],
  ['a field the envelope does not name', { ...base, note: 1 }, true],
  ['a null clientTime', { ...base, clientTime: null }, true],
  ['a type of the maximum length', { ...base, type: 'x'.repeat(eventTypeLength.max) }, true],
  ['a large version', { ...base, version: Number.MAX_SAFE_INTEGER }, true],
  ['an empty data object', { ...base, data: {} }, true],
  ['not an object', 'note.written', false],
  ['an array', [base], false],
  ['null', null, false],
  ['no type', { data: {} }, false],
  ['no data', { type: 'note.written' }, false],
  ['an empty type', { ...base, type: '' }, false],
  ['a type one over the length', { ...base, type: 'x'.repeat(eventTypeLength.max + 1) }, false],
  ['a type that is a number', { ...base, type: 7 }, false],
  ['an event id that is not a UUID', { ...base, eventId: 'not-a-uuid' }, false],
  ['an event id with a urn prefix', { ...base, eventId: `urn:uuid:${id}` }, false],
  ['a null event id', { ...base, eventId: null }, false],
  ['version 0', { ...base, version: minEventVersion - 1 }, false],
  ['a negative version', { ...base, version: -1 }, false],
  ['a fractional version', { ...base, version: 1.5 }, false],
  ['a version as text', { ...base, version: '1' }, false],
  ['a version past 2^53', { ...base, version: 2 ** 53 }, false],
  ['a null version', { ...base, version: null }, false],
  ['data that is an array', { ...base, data: [1] }, false],
  ['data that is null', { ...base, data: null }, false],
  ['data that is text', { ...base, data: 'a' }, false],
  ['a clientTime that is a number', { ...base, clientTime: 0 }, false],
  ['a clientTime that is an object', { ...base, clientTime: {} }, false],
];

describe('the event envelope', () => {
  it.each(envelopes)(
    'is judged the same by the store, its schema and the document: %s',
    (_name, raw, accepted) => {
      expect(verdicts(raw)).toEqual({ store: accepted, schema: accepted, document: accepted });
    },
  );

  it('is judged the same by the store, its schema and the document for generated envelopes', () => {
    const field = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const type = fc.oneof(
      fc.string({ maxLength: 110 }),
      fc.string({ unit: 'grapheme', maxLength: 110 }),
      fc.string({ unit: fc.constantFrom('a', '😀'), minLength: 40, maxLength: 110 }),
      fc.integer(),
      fc.constant(null),
    );
    const envelope = fc.record(
      {
        eventId: field(fc.oneof(fc.uuid(), fc.string(), fc.constant(null))),
        type,
        version: field(fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null))),
        data: fc.oneof(fc.dictionary(fc.string(), fc.integer()), fc.array(fc.integer())),
        clientTime: field(fc.oneof(fc.constant(time), fc.constant(null), fc.integer())),
      },
      { requiredKeys: [] },
    );
    const astral = /[\u{10000}-\u{10FFFF}]/u;
    fc.assert(
      fc.property(envelope, (raw) => {
        const { store, schema, document } = verdicts(raw);
        expect(schema).toBe(store);
        // JSON Schema counts a type's length in code points (the next test).
        if (!(typeof raw.type === 'string' && astral.test(raw.type))) expect(document).toBe(store);
      }),
      { seed: 20261202, numRuns: 2_000 },
    );
  });

  it('counts the type in UTF-16 code units, which the document says in words (JSON Schema counts code points)', () => {
    const astral = { ...base, type: '😀'.repeat(eventTypeLength.max / 2 + 1) };
    expect(storeAccepts(astral)).toBe(false);
    expect(eventEnvelopeSchema.safeParse(astral).success).toBe(false);
    const typeDoc = (newEvent.properties as Record<string, JsonSchema>).type;
    expect(typeDoc?.description).toMatch(/UTF-16 code units/);
  });

  it("documents the store's bounds as the store applies them", () => {
    const properties = newEvent.properties as Record<string, JsonSchema>;
    expect(properties.type).toMatchObject({
      minLength: eventTypeLength.min,
      maxLength: eventTypeLength.max,
    });
    expect(properties.version).toMatchObject({ type: 'integer', minimum: minEventVersion });
    expect(properties.eventId).toMatchObject({ format: 'uuid' });
    expect(newEvent.required).toEqual(['type', 'data']);
  });

  it('documents a configured batch limit, data size and depth, and the store applies the same', () => {
    const limits = { ...defaultLimits, maxBatchEvents: 3, maxEventBytes: 40, maxJsonDepth: 4 };
    const batch = z.toJSONSchema(eventBatchSchema(limits), { io: 'input' });
    expect(batch).toMatchObject({ type: 'array', minItems: 1, maxItems: 3 });
    expect(batch.description).toContain('at most 40 bytes');
    expect(batch.description).toContain('at most 4 levels');
    const sizes = [0, 1, 3, 4].map((n) => {
      const events = Array.from({ length: n }, () => base);
      let store = true;
      try {
        shapeBatch(events, limits);
      } catch {
        store = false;
      }
      return { n, store, schema: eventBatchSchema(limits).safeParse(events).success };
    });
    expect(sizes).toEqual([
      { n: 0, store: false, schema: false },
      { n: 1, store: true, schema: true },
      { n: 3, store: true, schema: true },
      { n: 4, store: false, schema: false },
    ]);
  });
});
