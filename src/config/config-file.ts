import { z } from 'zod';
import { AgateError } from '../errors/index.js';

/** A game module the configuration lists: where it is, which export holds its rules, its fixtures. */
export type GameModuleEntry = {
  /** A path relative to the configuration file's folder, or a package specifier resolved from it. */
  module: string;
  /** The named export: a `GameRules` or an array of them. Default `rules`. */
  export: string;
  /** A folder of golden fixtures of the module's rules versions, relative to the configuration file. */
  fixtures: string | null;
};

/** The built-in game, or a game module. */
export type GameEntry = { builtIn: 'archive-gate' } | GameModuleEntry;

export type ConfigFile = { games: readonly GameEntry[] };

const topLevel = z.strictObject({
  games: z.array(z.unknown()).min(1, { error: 'list at least one game' }),
});

const moduleEntry = z.strictObject({
  module: z.string().trim().min(1, { error: 'must name a module (a path or a package)' }),
  export: z.string().trim().min(1, { error: 'must name an export' }).optional(),
  fixtures: z.string().trim().min(1, { error: 'must name a folder' }).optional(),
});

function refused(source: string, path: readonly PropertyKey[], message: string): AgateError {
  const where = path.length === 0 ? 'the top level' : path.map(String).join('.');
  return new AgateError(
    'invalid_config',
    `Configuration ${source}: ${where} ${message}. Its shape is { "games": ["archive-gate", { "module": "./dist/my-game.rules.js", "export": "rules", "fixtures": "./fixtures" }] }.`,
  );
}

function firstIssue(source: string, prefix: readonly PropertyKey[], error: z.ZodError): AgateError {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return refused(source, [...prefix, ...issue.path], `has unknown key ${keys}; remove it`);
  }
  return refused(source, [...prefix, ...(issue?.path ?? [])], issue?.message ?? 'is not valid');
}

function parseEntry(source: string, entry: unknown, index: number): GameEntry {
  if (typeof entry === 'string') {
    if (entry === 'archive-gate') return { builtIn: entry };
    throw refused(
      source,
      ['games', index],
      `is "${entry}", which is not a built-in game (the one built in is "archive-gate"); list a game module as { "module": "./path/to/rules.js" }`,
    );
  }
  const parsed = moduleEntry.safeParse(entry);
  if (!parsed.success) throw firstIssue(source, ['games', index], parsed.error);
  return {
    module: parsed.data.module,
    export: parsed.data.export ?? 'rules',
    fixtures: parsed.data.fixtures ?? null,
  };
}

/** Validates the configuration's content (read from `source`); refusals are `invalid_config`. */
export function parseConfigFile(source: string, content: unknown): ConfigFile {
  const parsed = topLevel.safeParse(content);
  if (!parsed.success) throw firstIssue(source, [], parsed.error);
  return { games: parsed.data.games.map((entry, i) => parseEntry(source, entry, i)) };
}
