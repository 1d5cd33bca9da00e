import { z } from 'zod';
import { AgateError } from '../errors/index.js';
import type { GameRules } from '../game/index.js';

const rulesNamePattern = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const reasonPattern = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const functions = ['initialState', 'evolve', 'verdict', 'score'] as const;
const registryFunctions = ['find', 'latestVersion', 'definitions'] as const;

type Loose = Record<string, unknown>;

const isObject = (value: unknown): value is Loose => typeof value === 'object' && value !== null;

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

const isUpcaster = (value: unknown): boolean =>
  isObject(value) &&
  typeof value.type === 'string' &&
  Number.isSafeInteger(value.fromVersion) &&
  typeof value.upcast === 'function';

/** What is wrong with `types` as the event-type registry of rules `name` v`version`, or null. */
function registryProblem(types: unknown, name: string, version: number): string | null {
  if (!isObject(types) || registryFunctions.some((f) => typeof types[f] !== 'function')) {
    return 'needs eventTypes made with defineEventTypes(name, version, [...])';
  }
  if (!isObject(types.configSchema) || typeof types.configSchema.safeParse !== 'function') {
    return 'needs eventTypes with a zod configSchema (defineEventTypes gives one)';
  }
  if (!Array.isArray((types as { definitions(): unknown }).definitions())) {
    return 'needs eventTypes whose definitions() is an array (defineEventTypes gives one)';
  }
  if (types.rules !== name || types.rulesVersion !== version) {
    return `carries event types of ${String(types.rules)} v${String(types.rulesVersion)}; define them with the rules' own name and version`;
  }
  return null;
}

/** What is wrong with `value` as a GameRules, or null when it has the shape. */
function shapeProblem(value: unknown): string | null {
  if (!isObject(value)) return 'is not an object';
  if (typeof value.name !== 'string' || !rulesNamePattern.test(value.name)) {
    return 'needs a name of lower-case letters, digits, ".", "_" or "-" (at most 100 characters)';
  }
  if (
    typeof value.version !== 'number' ||
    !Number.isSafeInteger(value.version) ||
    value.version < 1
  ) {
    return 'needs a positive integer version';
  }
  const missing = functions.filter((name) => typeof value[name] !== 'function');
  if (missing.length > 0) return `has no function ${missing.join(', ')}`;
  const registry = registryProblem(value.eventTypes, value.name, value.version);
  if (registry !== null) return registry;
  if (!Array.isArray(value.upcasters) || !value.upcasters.every(isUpcaster)) {
    return 'needs upcasters: an array ([] when none) of { type, fromVersion, upcast(data) }';
  }
  if (!isStringArray(value.dayBoundaryTypes)) {
    return 'needs dayBoundaryTypes (an array of event type names, [] when none)';
  }
  if (!isStringArray(value.rejectReasons)) {
    return 'needs rejectReasons (an array of the reason codes verdict gives)';
  }
  const badReason = value.rejectReasons.find((reason) => !reasonPattern.test(reason));
  if (badReason !== undefined)
    return `has reject reason "${badReason}", which is not lower-case snake_case`;
  return null;
}

/** Each event type's schema as the API publishes it (JSON Schema of its input). */
function schemaProblem(rules: GameRules): string | null {
  for (const definition of rules.eventTypes.definitions()) {
    try {
      z.toJSONSchema(definition.schema, { io: 'input', unrepresentable: 'throw' });
    } catch (error) {
      return `has an event schema for ${definition.type} v${definition.version} that does not compile to JSON Schema (${(error as Error).message}); use zod types that JSON Schema can express: z.date, z.bigint, z.map, z.set, z.custom and the like have none`;
    }
  }
  return null;
}

/**
 * `value` as a GameRules, checked as agate needs it to serve and replay the game: refused with
 * `invalid_game_module` naming `from` (the module and export) otherwise.
 */
export function checkGameRules(value: unknown, from: string): GameRules {
  const problem = shapeProblem(value);
  if (problem !== null) {
    throw new AgateError(
      'invalid_game_module',
      `${from} is not a GameRules: it ${problem}. Export the rules object (or an array of them) that agate's GameRules type describes.`,
    );
  }
  const rules = value as GameRules;
  const compiled = schemaProblem(rules);
  if (compiled !== null) {
    throw new AgateError(
      'invalid_game_module',
      `${from}: rules ${rules.name} v${rules.version} ${compiled}.`,
    );
  }
  return rules;
}
