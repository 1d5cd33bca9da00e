import { fromPgError } from '../db/index.js';
import type { Command } from 'commander';
import { deleteTenant, selectTombstones } from '../tenants/index.js';
import type { DeleteTenantReport, TenantTombstone } from '../tenants/index.js';
import { tenantArgument } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgate } from './open-agate.js';

type DeleteFlags = { confirm?: string; confirmName?: string; json?: boolean };

function describeCounts(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([table, n]) => `${n} ${table}`)
      .join(', ') || 'no rows'
  );
}

function describeDeletion(report: DeleteTenantReport): string {
  return [
    report.alreadyDeleted
      ? `Tenant ${report.tenantId} (${report.name}, ${report.placement}) was deleted already, by ${report.deletedBy} at ${report.deletedAt.toISOString()}.`
      : `Deleted tenant ${report.tenantId} (${report.name}, ${report.placement}) at ${report.deletedAt.toISOString()}.`,
    `Removed: ${describeCounts(report.removed)}.`,
  ].join('\n');
}

function describeTombstone(t: TenantTombstone): string {
  const when =
    t.deletedAt === null ? 'under way (rerun agate tenants delete)' : t.deletedAt.toISOString();
  return `${t.tenantId}  ${when}  ${t.deletedBy}  ${t.placement}  ${t.name}`;
}

export function addTenantDeleteCommands(tenants: Command): void {
  tenants
    .command('delete')
    .description(
      'delete a tenant and every row of it in every placement, for good (export it first: agate tenants export); its writes are refused from the first step, its keys stop working, and the control plane keeps a tombstone of who deleted it, when, and how many rows of each table went; resumes when rerun',
    )
    .argument('<tenant>', 'the tenant id (a UUID)', (value: string) => tenantArgument(value))
    .option('--confirm <tenant id>', 'the tenant id again')
    .option('--confirm-name <name>', 'the tenant’s name, exactly (agate tenants list shows it)')
    .option(
      '--json',
      'print {tenantId, name, placement, removed, deletedBy, deletedAt, ...} as JSON',
    )
    .action(async (tenantId: string, flags: DeleteFlags, command: Command) => {
      if (flags.confirm === undefined || flags.confirmName === undefined) {
        command.error(
          `error: deleting a tenant is for good; confirm it with --confirm ${tenantId} --confirm-name <its name, as agate tenants list shows it>`,
          { exitCode: 2 },
        );
      }
      if (flags.confirm.toLowerCase() !== tenantId) {
        command.error(
          `error: --confirm must repeat the tenant id ${tenantId} exactly, got "${flags.confirm}"; nothing was changed`,
          { exitCode: 2 },
        );
      }
      const opened = await openAgate(process.env, { inline: true });
      try {
        const report = await deleteTenant({
          tenantId,
          router: opened.placements,
          actor: cliActor,
          confirm: { tenantId: flags.confirm, name: flags.confirmName },
        }).catch((error: unknown) => {
          throw fromPgError(error);
        });
        console.log(flags.json === true ? JSON.stringify(report) : describeDeletion(report));
      } finally {
        await opened.close();
      }
    });
  tenants
    .command('tombstones')
    .description('list the deleted tenants: who deleted each, when, and the rows removed')
    .option(
      '--json',
      'print {tombstones: [{tenantId, name, placement, deletedBy, requestedAt, deletedAt, counts}]} as JSON',
    )
    .action(async (flags: { json?: boolean }) => {
      const opened = await openAgate(process.env, { inline: true });
      try {
        const all = await selectTombstones(opened.agate.pool).catch((error: unknown) => {
          throw fromPgError(error);
        });
        console.log(
          flags.json === true
            ? JSON.stringify({ tombstones: all })
            : all.length === 0
              ? 'No deleted tenants.'
              : all.map(describeTombstone).join('\n'),
        );
      } finally {
        await opened.close();
      }
    });
}
