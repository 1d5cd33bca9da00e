import { z } from 'zod';
import { AgateError } from '../errors/index.js';
import { eventEnvelopeSchema } from '../events/index.js';
import type { EventTypeDefinition, GameCatalog, GameRules } from '../game/index.js';
import { documentedAs } from './schemas.js';

// The games a server runs, as JSON Schema: the event types of each rules version (what a client
// may send as an event's data) for `GET /v1/games`, and the typed event unions of the OpenAPI
// document (ADR 0029). Both come from the rules' own zod schemas, converted as the document's
// input side (`io: 'input'`: defaults are optional, a transform shows what it accepts).

export type JsonSchema = Record<string, unknown>;

/** The games of a catalog in a stable order: by name, then version. */
export function gamesInOrder(catalog: GameCatalog): readonly GameRules[] {
  return [...catalog.list()].sort((a, b) =>
    a.name === b.name ? a.version - b.version : a.name < b.name ? -1 : 1,
  );
}

/** `archive-gate` v1 → `ArchiveGateV1Event`: the component of that rules version's events. */
export function gameEventComponentName(rules: { name: string; version: number }): string {
  const words = rules.name.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  const pascal = words.map((w) => `${w.charAt(0).toUpperCase()}${w.slice(1)}`).join('');
  return `${pascal}V${rules.version}Event`;
}

/**
 * The names of every game's event component, one per rules version, in `gamesInOrder`. Names
 * that two rules would share (`a-b` and `a_b`) get the rules version's position as a suffix,
 * so every game keeps its own schema.
 */
export function gameEventComponentNames(catalog: GameCatalog): Map<GameRules, string> {
  const names = new Map<GameRules, string>();
  const taken = new Set<string>();
  gamesInOrder(catalog).forEach((rules, position) => {
    const base = gameEventComponentName(rules);
    const name = taken.has(base) ? base.replace(/Event$/, `Game${position + 1}Event`) : base;
    taken.add(name);
    names.set(rules, name);
  });
  return names;
}

/**
 * What a client may send as the data of `definition`, from the data's schema written as JSON
 * Schema: where the type consumes randomness, the server records the seed, so a client leaves
 * `seed` out (or may send one, when the rules let it: `clientMaySupplySeed`).
 */
export function clientDataSchema(definition: EventTypeDefinition, written: JsonSchema): JsonSchema {
  const properties = written.properties as Record<string, unknown> | undefined;
  if (!definition.consumesRandomness || properties === undefined || !('seed' in properties)) {
    return written;
  }
  const shown: JsonSchema = { ...written };
  const required = (written.required as string[] | undefined)?.filter((name) => name !== 'seed');
  if (required === undefined || required.length === 0) delete shown.required;
  else shown.required = required;
  if (definition.clientMaySupplySeed !== true) {
    shown.properties = Object.fromEntries(
      Object.entries(properties).filter(([name]) => name !== 'seed'),
    );
  }
  return shown;
}

/**
 * A zod schema as standalone JSON Schema (draft 2020-12), as the API publishes it. Throws
 * `invalid_game_module` naming `what` when zod cannot write it (the plug-in loader refuses such
 * rules at start-up; this keeps the server from starting with them either way).
 */
export function standaloneJsonSchema(schema: z.ZodType, what: string): JsonSchema {
  try {
    return z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
  } catch (error) {
    throw new AgateError(
      'invalid_game_module',
      `The schema of ${what} cannot be written as JSON Schema (${error instanceof Error ? error.message : String(error)}); the API publishes it, so use zod types that have a JSON Schema form (no z.custom, functions or output-side transforms).`,
      { cause: error },
    );
  }
}

const eventTypeSchema = z.strictObject({
  type: z.string(),
  version: z.number().int(),
  latest: z.boolean().meta({ description: 'Whether this is the newest version of the type.' }),
  consumesRandomness: z.boolean().meta({
    description: 'The event carries a recorded `data.seed`, which the server draws at append.',
  }),
  clientMaySupplySeed: z.boolean().meta({
    description:
      'Whether a game server may send its own `data.seed` (otherwise it is refused: seed_not_allowed).',
  }),
  schema: z.record(z.string(), z.unknown()).meta({
    description:
      'JSON Schema (draft 2020-12) of the `data` a client sends, from the rules’ zod schema: without the seed where the server draws it. Refinements that JSON Schema cannot state are checked by the server only.',
  }),
});

export const gameSchema = z
  .strictObject({
    rules: z.string(),
    version: z.number().int(),
    latest: z
      .boolean()
      .meta({ description: 'Whether this is the newest version of these rules on this server.' }),
    dayBoundaryTypes: z.array(z.string()),
    rejectReasons: z.array(z.string()).meta({
      description: 'Every reason code the rules’ verdict can give for a rejected action.',
    }),
    configSchema: z.record(z.string(), z.unknown()).meta({
      description: 'JSON Schema (draft 2020-12) of a session’s `config` at creation.',
    }),
    eventTypes: z.array(eventTypeSchema),
  })
  .meta({
    id: 'Game',
    description:
      'One rules version this server runs: its event types (including session.ended) with their JSON Schemas.',
  });

export const gameListSchema = z
  .strictObject({ games: z.array(gameSchema) })
  .meta({ id: 'GameList' });

export type GameJson = z.output<typeof gameSchema>;

/** One game as `GET /v1/games` shows it. */
export function gameJson(catalog: GameCatalog, rules: GameRules): GameJson {
  const registry = rules.eventTypes;
  return {
    rules: rules.name,
    version: rules.version,
    latest: catalog.eventTypes.latestRulesVersion(rules.name) === rules.version,
    dayBoundaryTypes: [...rules.dayBoundaryTypes],
    rejectReasons: [...rules.rejectReasons],
    configSchema: standaloneJsonSchema(
      registry.configSchema,
      `the config of ${rules.name} v${rules.version}`,
    ),
    eventTypes: registry.definitions().map((d) => ({
      type: d.type,
      version: d.version,
      latest: registry.latestVersion(d.type) === d.version,
      consumesRandomness: d.consumesRandomness,
      clientMaySupplySeed: d.consumesRandomness && d.clientMaySupplySeed === true,
      schema: clientDataSchema(
        d,
        standaloneJsonSchema(
          d.schema,
          `${d.type} v${d.version} in ${rules.name} v${rules.version}`,
        ),
      ),
    })),
  };
}

/**
 * The OpenAPI components of the games' events: per rules version, a `oneOf` with one member per
 * event type and version (`type` and `version` as constants; `version` may be left out only on
 * a type's newest version, as the store then takes that one), each with its typed `data`.
 * `write` writes a zod schema for the document (named schemas go to components).
 */
export function gameEventComponents(
  catalog: GameCatalog,
  write: (schema: z.ZodType) => JsonSchema,
): Record<string, JsonSchema> {
  const envelope = eventEnvelopeSchema.shape;
  const eventId = write(envelope.eventId);
  const clientTime = write(envelope.clientTime);
  const components: Record<string, JsonSchema> = {};
  for (const [rules, name] of gameEventComponentNames(catalog)) {
    const registry = rules.eventTypes;
    const members = registry.definitions().map((d) => {
      const latest = registry.latestVersion(d.type) === d.version;
      return {
        type: 'object',
        title: `${d.type} v${d.version}`,
        properties: {
          eventId,
          type: { type: 'string', const: d.type },
          version: {
            type: 'integer',
            const: d.version,
            ...(latest ? { description: 'May be left out: this is the newest version.' } : {}),
          },
          data: clientDataSchema(d, write(d.schema)),
          clientTime,
        },
        required: latest ? ['type', 'data'] : ['type', 'version', 'data'],
      };
    });
    components[name] = {
      description: `An event of ${rules.name} v${rules.version}, discriminated by type (and version where a type has several). The store checks it against the session’s rules.`,
      oneOf: members,
    };
  }
  return components;
}

/**
 * What the document shows for each event of an append: one of the typed event unions of the
 * games this server runs (`anyOf`: games may share a type such as session.ended, so an event may
 * fit several; the session's rules decide).
 */
export function typedEvent(games: GameCatalog): z.ZodType {
  const refs = [...gameEventComponentNames(games).values()].map((name) => ({
    $ref: `#/components/schemas/${name}`,
  }));
  const item = z.unknown();
  documentedAs.set(item, refs.length === 1 ? (refs[0] ?? {}) : { anyOf: refs });
  return item;
}
