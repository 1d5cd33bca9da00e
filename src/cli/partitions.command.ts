import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { AgateError } from '../errors/index.js';
import { maintainPartitions, partitionStatus } from '../../partitions/index.js';
import type { MaintainReport, PartitionStatus } from '../../partitions/index.js';
import {
  databaseNameOf,
  databaseUrlVariable,
  parsePlacement,
  readDatabaseServers,
} from '../placements/index.js';
import { openDatabase } from './open-database.js';

function wholeNumber(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a whole number of months, got "${value}".`);
    return Number(value);
  };
}

function describeStatus(status: PartitionStatus): string {
  const lines: string[] = [`Partitions at ${status.now}`];
  for (const t of status.tables) {
    const retention =
      t.settings.retentionMonths === null
        ? 'keep all'
        : `detach after ${t.settings.retentionMonths} months`;
    lines.push('', `${t.table}  (${t.backend}; premake ${t.settings.premake}; ${retention})`);
    for (const p of t.partitions) {
      const span =
        p.from === null
          ? 'DEFAULT'
          : `${p.from.toISOString().slice(0, 10)} .. ${p.to?.toISOString().slice(0, 10) ?? ''}`;
      lines.push(
        `  ${p.name.padEnd(24)} ${span.padEnd(24)} ~${String(p.estimatedRows ?? 0).padStart(9)} rows ${String(Math.round(p.bytes / 1024)).padStart(8)} KiB`,
      );
    }
    lines.push(
      `  months ahead: ${t.monthsAhead}; rows in default: ${t.defaultPartition.rows}; gaps: ${t.gaps.join(', ') || 'none'}; archived: ${t.archived.length}`,
    );
    for (const w of t.warnings) lines.push(`  ! ${w}`);
  }
  return lines.join('\n');
}

function describeMaintenance(report: MaintainReport): string {
  if (!report.ran) return report.message;
  const lines = [
    `Partition maintenance at ${report.now}${report.dryRun ? ' (dry run: nothing changed)' : ''}`,
  ];
  for (const t of report.tables) {
    if (t.plan !== undefined) {
      lines.push(
        `${t.table} (${t.backend}): would create ${t.plan.create.join(', ') || 'nothing'}; move default rows of ${t.plan.moveFromDefault.join(', ') || 'no month'}; detach ${t.plan.detach.join(', ') || 'nothing'}`,
      );
      continue;
    }
    const moved = t.moved.map((m) => `${m.rows} row(s) of ${m.month}`).join(', ');
    lines.push(
      `${t.table} (${t.backend}): created ${t.created.join(', ') || 'nothing'}; moved ${moved || 'nothing'}; detached ${t.detached.join(', ') || 'nothing'}${t.dropped.length > 0 ? `; dropped ${t.dropped.join(', ')}` : ''}`,
    );
  }
  return lines.join('\n');
}

/**
 * The database URL of `--placement` (ADR 0032): the control plane's (DATABASE_URL, or the embedded
 * database) for `shared`, else the configured server's; `run` gets it and closes nothing of it.
 */
async function withPlacementUrl<T>(
  placement: string | undefined,
  run: (url: string) => Promise<T>,
): Promise<T> {
  const parsed = parsePlacement(placement ?? 'shared');
  const name = databaseNameOf(parsed);
  if (name === null) {
    const target = await openDatabase(process.env);
    return run(target.url).finally(() => target.close());
  }
  const url = readDatabaseServers(process.env).get(name);
  if (url === undefined) {
    throw new AgateError(
      'invalid_request',
      `No database server ${name} is configured: set ${databaseUrlVariable(name)} to reach ${parsed}.`,
    );
  }
  return run(url);
}

const placementOption = [
  '--placement <placement>',
  'shared (default: the database of DATABASE_URL) or database:<name> (AGATE_DATABASE_URL_<NAME>)',
] as const;

type MaintainFlags = {
  placement?: string;
  premake?: number;
  retentionMonths?: number;
  keepAll?: boolean;
  drop?: boolean;
  dryRun?: boolean;
  json?: boolean;
  backend?: string;
};

export function addPartitionsCommands(program: Command): void {
  const partitions = program
    .command('partitions')
    .description('monthly partitions of game.events and admin.audit_log');
  partitions
    .command('status')
    .description(
      'every partition with bounds, size and rows, months ahead, default rows, gaps, retention',
    )
    .option(...placementOption)
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean; placement?: string }) => {
      const status = await withPlacementUrl(flags.placement, (url) => partitionStatus(url));
      console.log(flags.json === true ? JSON.stringify(status) : describeStatus(status));
    });
  partitions
    .command('maintain')
    .description(
      'premake months ahead, fill gaps, move rows out of the default partition, apply retention',
    )
    .option(
      '--premake <months>',
      'months to keep ready after the current one (saved)',
      wholeNumber('--premake'),
    )
    .option(
      '--retention-months <months>',
      'detach partitions older than this many months (saved)',
      wholeNumber('--retention-months'),
    )
    .option('--keep-all', 'turn retention off (saved)')
    .option(
      '--drop',
      'drop partitions past retention instead of keeping them in the archive schema',
    )
    .option('--dry-run', 'show what would be done, change nothing')
    .option('--backend <backend>', 'auto (default), native or pg_partman')
    .option(...placementOption)
    .option('--json', 'print JSON')
    .action(async (flags: MaintainFlags) => {
      const backend = flags.backend ?? 'auto';
      if (backend !== 'auto' && backend !== 'native' && backend !== 'pg_partman') {
        throw new AgateError('invalid_request', '--backend must be auto, native or pg_partman.');
      }
      const report = await withPlacementUrl(flags.placement, (url) =>
        maintainPartitions(url, {
          premake: flags.premake,
          retentionMonths: flags.keepAll === true ? null : flags.retentionMonths,
          drop: flags.drop,
          dryRun: flags.dryRun,
          backend,
        }),
      );
      console.log(flags.json === true ? JSON.stringify(report) : describeMaintenance(report));
    });
}
