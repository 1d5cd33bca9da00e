import { once } from 'node:events';
import type { Command } from 'commander';
import { streamAnalyticsEvents } from '../analytics/index.js';
import { tenantArgument } from './cli-arguments.js';
import { openAgateFor } from './open-agate.js';

type ExportFlags = {
  tenant: string;
  session?: string;
  player?: string;
  type?: string;
  from?: string;
  to?: string;
};

/** Writes `text` to stdout, waiting while the pipe is full (constant memory for any export). */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

export function addAnalyticsCommands(program: Command): void {
  const group = program
    .command('analytics')
    .description("a tenant's analytics.events: one row per event (ADR 0023)");
  group
    .command('export')
    .description(
      "print a tenant's analytics rows as NDJSON in server-time order, read as agate_analyst page by page",
    )
    .requiredOption('--tenant <id>', 'the tenant (a UUID)', tenantArgument)
    .option('--session <id>', "only this session's events")
    .option('--player <id>', "only the events of this player's sessions")
    .option('--type <types>', 'only these event types, separated by commas')
    .option('--from <time>', 'server time at or after this RFC 3339 instant')
    .option('--to <time>', 'server time before this RFC 3339 instant')
    .action(async (flags: ExportFlags) => {
      const { agate, close } = await openAgateFor(process.env, flags.tenant, { inline: true });
      try {
        const rows = streamAnalyticsEvents(agate.pool, {
          tenantId: flags.tenant,
          sessionId: flags.session,
          playerId: flags.player,
          types: flags.type?.split(','),
          from: flags.from,
          to: flags.to,
        });
        for await (const row of rows) await write(`${JSON.stringify(row)}\n`);
      } finally {
        await close();
      }
    });
}
