import { z } from 'zod';
import { AgateError } from '../errors/index.js';

/**
 * One version of one event type. `schema` validates (and may normalise) the event's data; what it
 * returns is what gets stored and hashed. A type that consumes randomness gets a recorded `seed`
 * (a string) in its data: one the server derives (ADR 0013), or, where the rules allow it, the
 * client's.
 */
export type EventTypeDefinition<
  Type extends string = string,
  Version extends number = number,
  Schema extends EventDataSchema = EventDataSchema,
> = {
  type: Type;
  version: Version;
  schema: Schema;
  consumesRandomness: boolean;
  /**
   * Whether a game server may choose the seed of such an event (default false: the server derives
   * it, and an append that carries one is refused with `seed_not_allowed`). The trusted paths that
   * carry recorded history (`agate import`, `fixtures import`) keep their seeds either way.
   */
  clientMaySupplySeed?: boolean;
};

/** What validates one event type's data: a zod schema of a JSON object. */
export type EventDataSchema = z.ZodType<Record<string, unknown>>;

/**
 * The event types of one rules version, looked up by type and version. `Defs` keeps each
 * definition's own type name, version and schema (as `defineEventTypes` infers them), so that
 * `EventInputOf` can type a client's payloads.
 */
export type EventTypeRegistry<Defs extends EventTypeDefinition = EventTypeDefinition> = {
  readonly rules: string;
  readonly rulesVersion: number;
  /** Validates a session's config at creation and fills in defaults; what it returns is stored. */
  readonly configSchema: ConfigSchema;
  find(type: string, version: number): Defs | undefined;
  latestVersion(type: string): number | undefined;
  definitions(): readonly Defs[];
};

/** The definitions a rules value (or a registry) carries, as a union. */
export type EventDefinitionsOf<R> = R extends { readonly eventTypes: EventTypeRegistry<infer D> }
  ? D
  : R extends EventTypeRegistry<infer D>
    ? D
    : never;

type InputOfDefinition<D> =
  D extends EventTypeDefinition<infer Type, infer Version, infer Schema>
    ? { type: Type; version: Version; data: DataInput<z.input<Schema>> }
    : never;

/** A schema typed only as `EventDataSchema` says nothing of its input: any JSON object. */
type DataInput<I> = unknown extends I ? Record<string, unknown> : I;

/**
 * Every event a client may send to a game, as a union of `{ type, version, data }` with `data`
 * the input type of that version's zod schema: `EventInputOf<typeof archiveGateV1>`. Only as
 * precise as the rules' declared type: rules typed as plain `GameRules` give `string`/`number`.
 */
export type EventInputOf<R> = InputOfDefinition<EventDefinitionsOf<R>>;

export type ConfigSchema = z.ZodType<Record<string, unknown>>;

/** Without a schema of its own, a game takes any JSON object as its config. */
const anyConfig: ConfigSchema = z.record(z.string(), z.unknown());

/** Every rules version this process knows, by name and version. */
export type EventTypeCatalog = {
  find(rules: string, rulesVersion: number): EventTypeRegistry | undefined;
  latestRulesVersion(rules: string): number | undefined;
};

const sessionEndedV1Schema = z.strictObject({ reason: z.string().max(500).optional() });

/** Ending a session appends this event, whatever the game. */
export const sessionEndedV1: EventTypeDefinition<'session.ended', 1, typeof sessionEndedV1Schema> =
  {
    type: 'session.ended',
    version: 1,
    schema: sessionEndedV1Schema,
    consumesRandomness: false,
  };

/** A registry's definitions: the rules' own, plus `session.ended` v1 unless they define it. */
type WithSessionEnded<D extends EventTypeDefinition> = [
  Extract<D, { type: 'session.ended' }>,
] extends [never]
  ? D | typeof sessionEndedV1
  : D;

const typeNamePattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

function assertDefinition(rules: string, d: EventTypeDefinition): void {
  if (!typeNamePattern.test(d.type) || d.type.length > 100) {
    throw new AgateError(
      'invalid_request',
      `Event type name "${d.type}" in rules ${rules} must be dotted lower-case words, at most 100 characters.`,
    );
  }
  if (!Number.isSafeInteger(d.version) || d.version < 1) {
    throw new AgateError(
      'invalid_request',
      `Event type ${d.type} in rules ${rules} needs a positive integer version.`,
    );
  }
}

export function defineEventTypes<const Defs extends readonly EventTypeDefinition[]>(
  rules: string,
  rulesVersion: number,
  definitions: Defs,
  options: { configSchema?: ConfigSchema } = {},
): EventTypeRegistry<WithSessionEnded<Defs[number]>> {
  type Def = WithSessionEnded<Defs[number]>;
  // The rules' own list, with session.ended added exactly when WithSessionEnded adds it.
  const all = (
    definitions.some((d) => d.type === sessionEndedV1.type)
      ? [...definitions]
      : [...definitions, sessionEndedV1]
  ) as Def[];
  const byKey = new Map<string, Def>();
  const latest = new Map<string, number>();
  for (const d of all) {
    assertDefinition(rules, d);
    const key = `${d.type}@${d.version}`;
    if (byKey.has(key)) {
      throw new AgateError(
        'invalid_request',
        `Rules ${rules} v${rulesVersion} define ${key} twice.`,
      );
    }
    byKey.set(key, d);
    latest.set(d.type, Math.max(latest.get(d.type) ?? 0, d.version));
  }
  return {
    rules,
    rulesVersion,
    configSchema: options.configSchema ?? anyConfig,
    find: (type, version) => byKey.get(`${type}@${version}`),
    latestVersion: (type) => latest.get(type),
    definitions: () => all,
  };
}

export function createEventTypeCatalog(registries: readonly EventTypeRegistry[]): EventTypeCatalog {
  const byKey = new Map<string, EventTypeRegistry>();
  const latest = new Map<string, number>();
  for (const r of registries) {
    const key = `${r.rules}@${r.rulesVersion}`;
    if (byKey.has(key)) {
      throw new AgateError('invalid_request', `Rules ${key} are registered twice.`);
    }
    byKey.set(key, r);
    latest.set(r.rules, Math.max(latest.get(r.rules) ?? 0, r.rulesVersion));
  }
  return {
    find: (rules, rulesVersion) => byKey.get(`${rules}@${rulesVersion}`),
    latestRulesVersion: (rules) => latest.get(rules),
  };
}
