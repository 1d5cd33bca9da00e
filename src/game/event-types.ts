import { z } from 'zod';
import { AgateError } from '../errors/index.js';

/**
 * One version of one event type. `schema` validates (and may normalise) the event's data; what it
 * returns is what gets stored and hashed. A type that consumes randomness gets a recorded `seed`
 * (a string) in its data: one the server derives (ADR 0013), or, where the rules allow it, the
 * client's.
 */
export type EventTypeDefinition = {
  type: string;
  version: number;
  schema: z.ZodType<Record<string, unknown>>;
  consumesRandomness: boolean;
  /**
   * Whether a game server may choose the seed of such an event (default false: the server derives
   * it, and an append that carries one is refused with `seed_not_allowed`). The trusted paths that
   * carry recorded history (`agate import`, `fixtures import`) keep their seeds either way.
   */
  clientMaySupplySeed?: boolean;
};

/** The event types of one rules version, looked up by type and version. */
export type EventTypeRegistry = {
  readonly rules: string;
  readonly rulesVersion: number;
  /** Validates a session's config at creation and fills in defaults; what it returns is stored. */
  readonly configSchema: ConfigSchema;
  find(type: string, version: number): EventTypeDefinition | undefined;
  latestVersion(type: string): number | undefined;
  definitions(): readonly EventTypeDefinition[];
};

export type ConfigSchema = z.ZodType<Record<string, unknown>>;

/** Without a schema of its own, a game takes any JSON object as its config. */
const anyConfig: ConfigSchema = z.record(z.string(), z.unknown());

/** Every rules version this process knows, by name and version. */
export type EventTypeCatalog = {
  find(rules: string, rulesVersion: number): EventTypeRegistry | undefined;
  latestRulesVersion(rules: string): number | undefined;
};

/** Ending a session appends this event, whatever the game. */
export const sessionEndedV1: EventTypeDefinition = {
  type: 'session.ended',
  version: 1,
  schema: z.strictObject({ reason: z.string().max(500).optional() }),
  consumesRandomness: false,
};

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

export function defineEventTypes(
  rules: string,
  rulesVersion: number,
  definitions: readonly EventTypeDefinition[],
  options: { configSchema?: ConfigSchema } = {},
): EventTypeRegistry {
  const all = definitions.some((d) => d.type === sessionEndedV1.type)
    ? [...definitions]
    : [...definitions, sessionEndedV1];
  const byKey = new Map<string, EventTypeDefinition>();
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
