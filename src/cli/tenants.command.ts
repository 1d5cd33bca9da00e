import type { Command } from 'commander';
import { createPlacedTenant } from '../tenants/index.js';
import { listTenants, setTenantRateLimit } from '../tenants/index.js';
import type { ListedTenant } from '../tenants/index.js';
import {
  describeRateLimit,
  rateBurstArgument,
  rateLimitArgument,
  rateLimitOfFlags,
  tenantArgument,
} from './cli-arguments.js';
import type { RateLimitFlags } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgate } from './open-agate.js';
import { addTenantDeleteCommands } from './tenant-delete.command.js';
import { addTenantExportCommand } from './tenant-export.command.js';
import { addTenantMoveCommand } from './tenant-move.command.js';

/** Runs `work` on the database of the environment and closes it, whatever happens. */
async function withAgate<T>(work: (opened: Awaited<ReturnType<typeof openAgate>>) => Promise<T>) {
  const opened = await openAgate(process.env, { inline: true });
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}

function describeTenant(t: ListedTenant): string {
  return `${t.id}  ${t.createdAt.toISOString()}  ${t.placement}  ${describeRateLimit(t.rateLimit, 'of the server')}  ${t.name}`;
}

type CreateFlags = RateLimitFlags & { json?: boolean; placement: string };
type LimitFlags = RateLimitFlags & { json?: boolean };

export function addTenantsCommands(program: Command): void {
  const tenants = program.command('tenants').description('tenants (DATABASE_URL)');
  tenants
    .command('create')
    .description('create a tenant (recorded in the audit log); prints its id')
    .argument('<name>', 'a name for people, 1 to 200 characters')
    .option(
      '--rate-limit <per second>',
      'the rate limit of its keys without their own (default: the server’s)',
      rateLimitArgument,
    )
    .option(
      '--rate-burst <n>',
      'their burst (default: two seconds of --rate-limit)',
      rateBurstArgument,
    )
    .option(
      '--placement <placement>',
      'where its data lives: shared (default) or database:<name>, a server named by AGATE_DATABASE_URL_<NAME>',
      'shared',
    )
    .option('--json', 'print {id, name, rateLimit, placement} as JSON')
    .action(async (name: string, flags: CreateFlags, command: Command) => {
      const rateLimit = rateLimitOfFlags(flags, command);
      const tenant = await withAgate(({ placements }) =>
        createPlacedTenant(placements, {
          name,
          rateLimit,
          placement: flags.placement,
          actor: cliActor,
        }),
      );
      console.log(
        flags.json === true
          ? JSON.stringify({
              id: tenant.id,
              name: tenant.name,
              rateLimit: tenant.rateLimit,
              placement: tenant.placement,
            })
          : `Created tenant ${tenant.name}: ${tenant.id} (${tenant.placement})`,
      );
    });
  tenants
    .command('list')
    .description('list every tenant, oldest first, with its placement and rate limit')
    .option('--json', 'print {tenants: [{id, name, createdAt, rateLimit, placement}]} as JSON')
    .action(async (flags: { json?: boolean }) => {
      const all = await withAgate(({ agate }) => listTenants(agate.pool));
      console.log(
        flags.json === true
          ? JSON.stringify({ tenants: all })
          : all.length === 0
            ? 'No tenants.'
            : all.map(describeTenant).join('\n'),
      );
    });
  tenants
    .command('limit')
    .description(
      'set the rate limit of a tenant’s keys that have none of their own, or --inherit the server’s; audited, and live servers apply it at once when they hear agate_keys, within AGATE_KEY_CACHE_MS in any case',
    )
    .argument('<tenant>', 'the tenant id (a UUID)', (value: string) => tenantArgument(value))
    .option('--rate-limit <per second>', 'requests per second', rateLimitArgument)
    .option('--rate-burst <n>', 'requests at once (default: two seconds’ worth)', rateBurstArgument)
    .option('--inherit', 'clear the tenant’s limit')
    .option('--json', 'print {tenantId, rateLimit, previous} as JSON')
    .action(async (tenantId: string, flags: LimitFlags, command: Command) => {
      const rateLimit = rateLimitOfFlags(flags, command);
      if (rateLimit === undefined) {
        command.error(
          'error: give --rate-limit <per second> (and --rate-burst <n>), or --inherit',
          {
            exitCode: 2,
          },
        );
      }
      const changed = await withAgate(({ agate }) =>
        setTenantRateLimit(agate.pool, { tenantId, rateLimit, actor: cliActor }),
      );
      console.log(
        flags.json === true
          ? JSON.stringify(changed)
          : `Tenant ${changed.tenantId}: ${describeRateLimit(changed.rateLimit, 'of the server')}`,
      );
    });
  addTenantExportCommand(tenants);
  addTenantDeleteCommands(tenants);
  addTenantMoveCommand(tenants);
}
