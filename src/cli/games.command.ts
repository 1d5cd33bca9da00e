import type { Command } from 'commander';
import { loadGameCatalog } from '../config/index.js';
import type { LoadedCatalog } from '../config/index.js';

/** One line for start-up logs: which games run, and from which configuration file. */
export function describeGames(loaded: LoadedCatalog): string {
  const games = loaded.games.map((g) => `${g.rules.name} v${g.rules.version}`).join(', ');
  const from =
    loaded.source === null ? 'no configuration file, the built-in game' : `from ${loaded.source}`;
  return `games ${games} (${from})`;
}

/** The loaded catalog as `agate games list --json` prints it. */
export function gamesJson(loaded: LoadedCatalog) {
  return {
    config: loaded.source,
    games: loaded.games.map(({ rules, module, fixtures }) => ({
      name: rules.name,
      version: rules.version,
      eventTypes: rules.eventTypes.definitions().map((d) => ({
        type: d.type,
        version: d.version,
        consumesRandomness: d.consumesRandomness,
      })),
      rejectReasons: rules.rejectReasons,
      module,
      fixtures,
    })),
  };
}

function describeCatalog(loaded: LoadedCatalog): string {
  const lines = [
    loaded.source === null
      ? 'No configuration file (AGATE_CONFIG, agate.config.json, .js or .mjs): the built-in game.'
      : `Configuration: ${loaded.source}`,
  ];
  for (const { rules, module, fixtures } of loaded.games) {
    const types = rules.eventTypes.definitions().map((d) => `${d.type} v${d.version}`);
    lines.push(
      '',
      `${rules.name} v${rules.version}`,
      `  module:         ${module}`,
      `  fixtures:       ${fixtures ?? '(none)'}`,
      `  event types:    ${types.join(', ')}`,
      `  reject reasons: ${rules.rejectReasons.length === 0 ? '(none)' : rules.rejectReasons.join(', ')}`,
    );
  }
  return lines.join('\n');
}

export function addGamesCommands(program: Command): void {
  const games = program
    .command('games')
    .description('the games this agate runs (AGATE_CONFIG, else agate.config.* here)');
  games
    .command('list')
    .description(
      'each game and rules version of the configuration: event types, reject reasons, module, fixtures',
    )
    .option(
      '--json',
      'print {config, games: [{name, version, eventTypes, rejectReasons, module, fixtures}]}',
    )
    .action(async (flags: { json?: boolean }) => {
      const loaded = await loadGameCatalog({ env: process.env });
      console.log(
        flags.json === true ? JSON.stringify(gamesJson(loaded)) : describeCatalog(loaded),
      );
    });
}
