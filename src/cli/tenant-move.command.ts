import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { fromPgError } from '../db/index.js';
import { abortMove, finishMove, moveTenant, selectMoves } from '../moves/index.js';
import type { MoveProgress, MoveRecord, MoveReport } from '../moves/index.js';
import { parsePlacement } from '../placements/index.js';
import type { Placement } from '../placements/index.js';
import { tenantArgument } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgate } from './open-agate.js';

type MoveFlags = {
  to?: Placement;
  finish?: boolean;
  abort?: boolean;
  status?: boolean;
  json?: boolean;
  fenceWaitMs?: number;
};

function placementArgument(value: string): Placement {
  try {
    return parsePlacement(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function fenceWaitArgument(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > 60_000) {
    throw new InvalidArgumentError(
      `--fence-wait-ms must be a whole number of milliseconds from 1 to 60000, got "${value}".`,
    );
  }
  return n;
}

/** Progress as plain lines on stderr: every step, and copied events at most once a second. */
function progressLines(): (progress: MoveProgress) => void {
  let lastStep = '';
  let lastAt = 0;
  return (progress) => {
    const now = Date.now();
    if (progress.step === lastStep && now - lastAt < 1_000) return;
    lastStep = progress.step;
    lastAt = now;
    console.error(`move: ${progress.step}: ${progress.message}`);
  };
}

function describeMove(report: MoveReport): string {
  const counts = Object.entries(report.counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  return [
    `Moved tenant ${report.tenantId} from ${report.source} to ${report.target} (move ${report.moveId}${report.resumed ? ', resumed' : ''}).`,
    `Verified: ${report.verified.sessions} sessions (chain heads), ${report.verified.events} events, ${report.verified.anchors} anchors equal on both sides.`,
    `Writes were held for at most ${report.fenceMs} ms. Copied: ${counts || 'nothing'}.`,
    `The source keeps its rows, refusing writes, until: agate tenants move ${report.tenantId} --finish`,
  ].join('\n');
}

function describeRecord(move: MoveRecord): string {
  const fence = move.longestFenceMs === null ? '' : `, fence ${move.longestFenceMs} ms`;
  return `${move.id}  ${move.startedAt.toISOString()}  ${move.source} -> ${move.target}  ${move.step}${fence}`;
}

export function addTenantMoveCommand(tenants: Command): void {
  tenants
    .command('move')
    .description(
      'move a tenant to another placement while its game servers keep appending (audited; resumes when rerun): copy, hold its writes briefly, verify chain heads, counts and anchors, switch; --finish then removes its rows from the source, --abort rolls back a move that has not switched',
    )
    .argument('<tenant>', 'the tenant id (a UUID)', (value: string) => tenantArgument(value))
    .option('--to <placement>', 'shared or database:<name>', placementArgument)
    .option('--finish', 'remove the tenant’s rows from the placement a switched move left')
    .option('--abort', 'roll back a move that has not switched: the tenant stays where it is')
    .option(
      '--status',
      'list the tenant’s moves, newest first, with their step and longest fence (--json: counts too)',
    )
    .option(
      '--fence-wait-ms <ms>',
      'how long a write held by the fence waits before it is refused with tenant_moving, retryable (default 2000)',
      fenceWaitArgument,
    )
    .option('--json', 'print the report as JSON')
    .action(async (tenantId: string, flags: MoveFlags, command: Command) => {
      const modes = [
        flags.to !== undefined,
        flags.finish === true,
        flags.abort === true,
        flags.status === true,
      ];
      if (modes.filter(Boolean).length !== 1) {
        command.error(
          'error: give exactly one of --to <placement>, --finish, --abort or --status',
          {
            exitCode: 2,
          },
        );
      }
      const opened = await openAgate(process.env, { inline: true });
      try {
        await runMove(tenantId, flags, opened);
      } catch (error) {
        // The move's own statements (its records, fences, copy) reach the driver directly.
        throw fromPgError(error);
      } finally {
        await opened.close();
      }
    });
}

async function runMove(
  tenantId: string,
  flags: MoveFlags,
  opened: Awaited<ReturnType<typeof openAgate>>,
): Promise<void> {
  const base = { tenantId, router: opened.placements, actor: cliActor };
  if (flags.status === true) {
    const moves = await selectMoves(opened.placements.control.pool, tenantId);
    console.log(
      flags.json === true
        ? JSON.stringify(moves)
        : moves.length === 0
          ? `Tenant ${tenantId} has never moved.`
          : moves.map(describeRecord).join('\n'),
    );
    return;
  }
  if (flags.to !== undefined) {
    const report = await moveTenant({
      ...base,
      to: flags.to,
      ...(flags.fenceWaitMs === undefined ? {} : { fenceWaitMs: flags.fenceWaitMs }),
      onProgress: progressLines(),
    });
    console.log(flags.json === true ? JSON.stringify(report) : describeMove(report));
    return;
  }
  const report = await (flags.finish === true ? finishMove(base) : abortMove(base));
  console.log(
    flags.json === true
      ? JSON.stringify(report)
      : report.step === 'finished'
        ? `Finished move ${report.moveId}: removed ${report.removed} rows of tenant ${tenantId} from ${report.source}.`
        : `Rolled back move ${report.moveId}: tenant ${tenantId} stays on ${report.source}; removed ${report.removed} copied rows from ${report.target}.`,
  );
}
