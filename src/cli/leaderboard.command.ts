import type { Command } from 'commander';
import { rebuildLeaderboard } from '../cache/index.js';
import { tenantArgument } from './cli-arguments.js';
import { openAgateFor, requireRedis } from './open-agate.js';

export function addLeaderboardCommand(program: Command): void {
  const leaderboard = program.command('leaderboard').description('verified leaderboards in Redis');
  leaderboard
    .command('rebuild')
    .description(
      "rebuild a tenant's leaderboard for a game from PostgreSQL, replaying every ended session",
    )
    .requiredOption('--tenant <id>', 'the tenant (a UUID)', tenantArgument)
    .option('--rules <name>', 'the game', 'archive-gate')
    .option('--json', 'print JSON')
    .action(async (flags: { tenant: string; rules: string; json?: boolean }) => {
      const opened = await openAgateFor(process.env, flags.tenant);
      try {
        const redis = requireRedis(opened, 'leaderboard rebuild');
        const result = await rebuildLeaderboard(opened.agate, redis.client, redis.health, {
          tenantId: flags.tenant,
          rules: flags.rules,
        });
        console.log(
          flags.json === true
            ? JSON.stringify(result)
            : `Rebuilt the ${flags.rules} leaderboard: ${JSON.stringify(result)}`,
        );
      } finally {
        await opened.close();
      }
    });
}
