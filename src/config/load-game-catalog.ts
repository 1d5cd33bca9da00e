import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgateError } from '../errors/index.js';
import { archiveGateV1, createGameCatalog } from '../game/index.js';
import type { GameCatalog, GameRules } from '../game/index.js';
import { builtInFixturesDir } from './built-in-fixtures.js';
import { checkGameRules } from './check-game-rules.js';
import type { GameModuleEntry } from './config-file.js';
import { findConfigFile } from './find-config-file.js';
import { readConfigFile } from './read-config-file.js';
import { resolveGameModule } from './resolve-game-module.js';

/** One rules version of the loaded catalog and where it came from. */
export type LoadedGame = {
  rules: GameRules;
  /** The module's resolved file, or `archive-gate` for the built-in game. */
  module: string;
  /** Its golden fixtures folder (absolute), or null when it has none. */
  fixtures: string | null;
};

export type LoadedCatalog = {
  catalog: GameCatalog;
  /** The configuration file's absolute path, or null (no configuration: archive-gate only). */
  source: string | null;
  games: readonly LoadedGame[];
};

export type LoadGameCatalogOptions = {
  /** Where AGATE_CONFIG is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where AGATE_CONFIG is relative to and agate.config.* is looked for (default process.cwd()). */
  cwd?: string;
};

function builtIn(): LoadedGame {
  return {
    rules: archiveGateV1,
    module: 'archive-gate',
    fixtures: builtInFixturesDir(archiveGateV1.name, archiveGateV1.version),
  };
}

async function importModule(path: string, label: string): Promise<Record<string, unknown>> {
  if (extname(path) === '.ts' || extname(path) === '.mts' || extname(path) === '.cts') {
    throw new AgateError(
      'invalid_game_module',
      `${label} is TypeScript, which node 20 cannot import; compile it (tsc) and point "module" at the .js file.`,
    );
  }
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new AgateError(
      'invalid_game_module',
      `${label} failed to import (${String(error)}); fix the module so that node can import it.`,
      { cause: error },
    );
  }
}

function fixturesOf(entry: GameModuleEntry, configDir: string, source: string): string | null {
  if (entry.fixtures === null) return null;
  const dir = resolve(configDir, entry.fixtures);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AgateError(
      'invalid_config',
      `Configuration ${source}: the fixtures of ${entry.module}, ${entry.fixtures}, is not a folder at ${dir}; create it or fix "fixtures" (relative to the configuration file).`,
    );
  }
  return dir;
}

async function loadModule(entry: GameModuleEntry, source: string): Promise<LoadedGame[]> {
  const configDir = dirname(source);
  const path = resolveGameModule(entry.module, configDir, source);
  const label = `Game module ${entry.module} (${path}, listed in ${source})`;
  const loaded = await importModule(path, label);
  if (!(entry.export in loaded)) {
    const names = Object.keys(loaded)
      .filter((name) => name !== 'default')
      .sort();
    throw new AgateError(
      'invalid_game_module',
      `${label} has no export "${entry.export}" (it exports ${names.length === 0 ? 'nothing by name' : names.join(', ')}); set "export" to the name of its rules export.`,
    );
  }
  const exported = loaded[entry.export];
  const values = Array.isArray(exported) ? (exported as unknown[]) : [exported];
  if (values.length === 0) {
    throw new AgateError(
      'invalid_game_module',
      `${label}: export "${entry.export}" is an empty array; put its rules in it.`,
    );
  }
  const fixtures = fixturesOf(entry, configDir, source);
  return values.map((value, i) => ({
    rules: checkGameRules(
      value,
      Array.isArray(exported)
        ? `${label}, export "${entry.export}"[${i}]`
        : `${label}, export "${entry.export}"`,
    ),
    module: path,
    fixtures,
  }));
}

function refuseDuplicates(games: readonly LoadedGame[], source: string): void {
  const seen = new Map<string, LoadedGame>();
  for (const game of games) {
    const key = `${game.rules.name} v${game.rules.version}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new AgateError(
        'invalid_game_module',
        `Rules ${key} come from both ${first.module} and ${game.module} (listed in ${source}); give each rules version its own version number, or list it once.`,
      );
    }
    seen.set(key, game);
  }
}

/**
 * The games this process runs: those the configuration file lists (AGATE_CONFIG, else
 * agate.config.json, .js or .mjs in `cwd`), else archive-gate alone. Every module is imported,
 * checked as a GameRules and its event schemas compiled to JSON Schema now, so that a bad module
 * stops start-up with `invalid_config` or `invalid_game_module` naming it and the fix.
 */
export async function loadGameCatalog(
  options: LoadGameCatalogOptions = {},
): Promise<LoadedCatalog> {
  const source = findConfigFile(options.env ?? process.env, options.cwd ?? process.cwd());
  if (source === null) {
    const games = [builtIn()];
    return { catalog: createGameCatalog(games.map((g) => g.rules)), source, games };
  }
  const config = await readConfigFile(source);
  const games: LoadedGame[] = [];
  for (const entry of config.games) {
    games.push(...('builtIn' in entry ? [builtIn()] : await loadModule(entry, source)));
  }
  refuseDuplicates(games, source);
  return { catalog: createGameCatalog(games.map((g) => g.rules)), source, games };
}
