import { Command, CommanderError } from 'commander';
import { fromPgError } from '../db/index.js';
import { isAgateError } from '../errors/index.js';
import { exitCodes } from './exit-codes.js';
import { checkMigrated, describeMigrate, runMigrate } from './migrate.command.js';
import { addLeaderboardCommand } from './leaderboard.command.js';
import { addConsumersCommands } from './consumers.command.js';
import { addKeysCommands } from './keys.command.js';
import { addNightlyCommand } from './nightly.command.js';
import { addPartitionsCommands } from './partitions.command.js';
import { addServeCommand } from './serve.command.js';
import { addTenantsCommands } from './tenants.command.js';
import { addWorkerCommand } from './worker.command.js';
import { addReplayCommand } from './replay.command.js';
import { addRulesCommands } from './rules.command.js';
import { addSnapshotCommand } from './snapshot.command.js';
import { addSessionsCommands } from './sessions.command.js';
import { addGdprCommands } from './gdpr.command.js';
import { addFixturesCommands } from './fixtures.command.js';
import { addDemoCommand } from './demo.command.js';
import { addImportCommand } from './import.command.js';
import { addFeedCommands } from './feed.command.js';
import { addAnalyticsCommands } from './analytics.command.js';
import { addGamesCommands } from './games.command.js';

/** The whole `agate` command tree (exported so tests can walk it). */
export function buildProgram(): Command {
  const program = new Command('agate')
    .description(
      'agate: event-sourced game backend with deterministic replay, on PostgreSQL. Runs the games listed in the file AGATE_CONFIG names, else in agate.config.json, .js or .mjs in the current directory, else archive-gate (agate games list)',
    )
    .exitOverride()
    .showHelpAfterError()
    .option(
      '--memory',
      'with DATABASE_URL unset: keep the embedded database in memory instead of .agate/',
    )
    .hook('preAction', (command) => {
      // The embedded database is opened by each command from the environment; --memory says how.
      if (command.opts<{ memory?: boolean }>().memory === true)
        process.env.AGATE_EMBEDDED = 'memory';
    });
  program
    .command('migrate')
    .description(
      'apply pending database migrations (DATABASE_URL, else the embedded database, then every AGATE_DATABASE_URL_<NAME> placement server), safe to run twice or at once',
    )
    .option('--json', 'print a JSON report')
    .action(async (options: { json?: boolean }) => {
      const report = await runMigrate(process.env);
      console.log(options.json === true ? JSON.stringify(report) : describeMigrate(report));
      checkMigrated(report);
    });
  addPartitionsCommands(program);
  addNightlyCommand(program);
  addWorkerCommand(program);
  addLeaderboardCommand(program);
  addServeCommand(program);
  addTenantsCommands(program);
  addKeysCommands(program);
  addConsumersCommands(program);
  addReplayCommand(program);
  addSnapshotCommand(program);
  addSessionsCommands(program);
  addGdprCommands(program);
  addFixturesCommands(program);
  addDemoCommand(program);
  addImportCommand(program);
  addFeedCommands(program);
  addAnalyticsCommands(program);
  addGamesCommands(program);
  addRulesCommands(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // An action reports a found divergence through process.exitCode (replay, nightly).
    return process.exitCode === exitCodes.divergence ? exitCodes.divergence : exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    // A database error a command did not map itself (a refused connection, a timeout) is still
    // said as agate says it everywhere else; only what fromPgError does not know is unexpected.
    const known = isAgateError(error) ? error : fromPgError(error);
    if (known.code !== 'internal' || isAgateError(error)) {
      console.error(`agate: ${known.message} [${known.code}]`);
      return exitCodes.failure;
    }
    console.error('agate: unexpected failure:', error);
    return exitCodes.failure;
  }
}

process.exitCode = await main(process.argv);
