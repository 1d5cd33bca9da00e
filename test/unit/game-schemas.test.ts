import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  clientDataSchema,
  gameEventComponentName,
  gameEventComponentNames,
  gameEventComponents,
  gameJson,
} from '../../src/api/game-schemas.js';
import { isAgateError } from '../../src/errors/index.js';
import { archiveGateV1, createGameCatalog, defineEventTypes } from '../../src/game/index.js';
import type { EventTypeDefinition, GameRules } from '../../src/game/index.js';
import { tinyRules } from '../support/tiny-rules.js';

const seeded = z.strictObject({ sides: z.number().int(), seed: z.string().min(1) });

function definition(clientMaySupplySeed: boolean): EventTypeDefinition {
  return {
    type: 'dice.rolled',
    version: 1,
    schema: seeded,
    consumesRandomness: true,
    clientMaySupplySeed,
  };
}

/** A copy of the tiny rules under another name, with `definitions` as its event types. */
function gameNamed(name: string, definitions: readonly EventTypeDefinition[] = []): GameRules {
  return { ...tinyRules, name, eventTypes: defineEventTypes(name, 1, definitions) };
}

describe('clientDataSchema', () => {
  const written = z.toJSONSchema(seeded, { io: 'input' }) as Record<string, unknown>;

  it('leaves the seed out where only the server draws it', () => {
    expect(clientDataSchema(definition(false), written)).toMatchObject({
      properties: { sides: { type: 'integer' } },
      required: ['sides'],
      additionalProperties: false,
    });
    expect(clientDataSchema(definition(false), written).properties).not.toHaveProperty('seed');
  });

  it('makes the seed optional where a client may choose it', () => {
    const shown = clientDataSchema(definition(true), written);
    expect(shown.properties).toHaveProperty('seed');
    expect(shown.required).toEqual(['sides']);
  });

  it('keeps the schema of a type that consumes no randomness as written', () => {
    const plain = { ...definition(false), consumesRandomness: false };
    expect(clientDataSchema(plain, written)).toBe(written);
  });
});

describe('the event components', () => {
  it('are named after the rules name and version, and stay apart when two names would meet', () => {
    expect(gameEventComponentName({ name: 'archive-gate', version: 1 })).toBe('ArchiveGateV1Event');
    const names = gameEventComponentNames(
      createGameCatalog([gameNamed('token-rush'), gameNamed('token_rush')]),
    );
    expect([...names.values()]).toEqual(['TokenRushV1Event', 'TokenRushV1Game2Event']);
  });

  it('write one member per type and version, version required except on the newest', () => {
    const components = gameEventComponents(createGameCatalog([archiveGateV1]), (s) =>
      z.toJSONSchema(s, { io: 'input' }),
    );
    const members = components.ArchiveGateV1Event?.oneOf as {
      properties: { type: { const: string }; version: { const: number } };
      required: string[];
    }[];
    const decided = members.filter((m) => m.properties.type.const === 'request.decided');
    expect(decided.map((m) => [m.properties.version.const, m.required])).toEqual([
      [1, ['type', 'version', 'data']],
      [2, ['type', 'data']],
    ]);
  });
});

describe('gameJson', () => {
  it('refuses a schema zod cannot write as JSON Schema with invalid_game_module, naming it', () => {
    const custom = z.custom<Record<string, unknown>>((v) => typeof v === 'object');
    const game = gameNamed('odd', [
      { type: 'thing.done', version: 1, schema: custom, consumesRandomness: false },
    ]);
    let thrown: unknown;
    try {
      gameJson(createGameCatalog([game]), game);
    } catch (error) {
      thrown = error;
    }
    expect(isAgateError(thrown, 'invalid_game_module')).toBe(true);
    expect((thrown as Error).message).toMatch(/thing\.done v1 in odd v1/);
  });
});
