import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import {
  defaultFullVerifyLimit,
  divergencesOf,
  queueDispatch,
  runNightly,
} from '../jobs/nightly/index.js';
import type { NightlyResult, NightlyStage } from '../jobs/nightly/index.js';
import { exitCodes } from './exit-codes.js';
import { openAgate } from './open-agate.js';

function sessionCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 1_000_000_000)
    throw new InvalidArgumentError(
      '--full-verify-limit must be a whole number of sessions (0 = none).',
    );
  return Number(value);
}

function progressLine(stage: NightlyStage, done: number, total: number): void {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  process.stderr.write(
    `\r${stage.padEnd(20)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
  );
  if (done === total) process.stderr.write('\n');
}

function describe(result: NightlyResult): string {
  if (!result.ran) return result.message;
  const s = result.summary;
  return [
    `Nightly run ${s.runId} for the day ending ${s.boundary}`,
    `  partitions: ${s.partitions?.ran === true ? 'maintained' : 'skipped (another maintenance run held the lock)'}`,
    `  day-boundary snapshots: ${s.daySnapshots.targets}${s.daySnapshots.pending > 0 ? ` (${s.daySnapshots.pending} still queued when the audit began)` : ''}`,
    `  audit: ${s.audit.snapshots} snapshot(s) written since the last audit checked, ${s.audit.sessions} session chain(s) checked from their last verified point (${s.audit.fromGenesis} from genesis)`,
    ...(s.audit.unknownRules > 0
      ? [
          `  ! ${s.audit.unknownRules} session(s) of rules this build does not register were not replayed: run the nightly job with a build that registers them`,
        ]
      : []),
    `  full verification: ${s.fullVerify.sessions} session(s) replayed from genesis (at most ${s.fullVerify.limit}), ${s.fullVerify.backlog} left in this pass`,
    `  divergences: ${divergencesOf(s).length}`,
    ...divergencesOf(s).map(
      (d) =>
        `    ! tenant ${d.tenantId} session ${d.sessionId} at ${d.sequence} [${d.kind}${d.firstSeen ? ', new' : ', recorded before'}]: ${d.message}`,
    ),
    `  missing interval snapshots written: ${s.intervalSnapshots.targets}`,
    `  head anchors recorded: ${s.anchors.recorded}`,
    `  took ${Object.values(s.durationsMs).reduce((a, b) => a + b, 0)} ms`,
  ].join('\n');
}

export function addNightlyCommand(program: Command): void {
  program
    .command('nightly')
    .description(
      'partitions, day-boundary snapshots, an audit of new snapshots and moved chains, a slice of the full re-verification, missing snapshots, head anchors, a summary; exits 3 when a divergence is found',
    )
    .option(
      '--inline',
      'write snapshots in this process, without Redis (the default when REDIS_URL is unset)',
    )
    .option('--json', 'print a JSON summary')
    .option(
      '--full-verify-limit <n>',
      'sessions the rolling full re-verification replays from genesis in this run',
      sessionCount,
      defaultFullVerifyLimit,
    )
    .action(async (flags: { inline?: boolean; json?: boolean; fullVerifyLimit: number }) => {
      const opened = await openAgate(process.env, { inline: flags.inline });
      const { agate, url, redis, close } = opened;
      try {
        const tty = process.stderr.isTTY && flags.json !== true;
        const options = {
          onProgress: tty ? progressLine : undefined,
          failpoint: process.env.AGATE_FAILPOINT,
          fullVerifyLimit: flags.fullVerifyLimit,
        };
        const result = await runNightly(agate, url, {
          ...options,
          dispatch: redis === null ? undefined : queueDispatch(agate, redis.producer),
        });
        // Each placement database server has its own partitions, audit and anchors; its
        // day-boundary snapshots are written by this process (ADR 0032).
        const placements: Record<string, NightlyResult> = {};
        for (const [name, serverUrl] of opened.servers) {
          const placement = `database:${name}` as const;
          placements[placement] = await runNightly(
            opened.placements.agateOf(placement),
            serverUrl,
            options,
          );
        }
        console.log(
          flags.json === true
            ? JSON.stringify({ ...result, placements })
            : [
                describe(result),
                ...Object.entries(placements).map(([p, r]) => `${p}:\n${describe(r)}`),
              ].join('\n'),
        );
        // New or recorded before: a divergence seen again is still unresolved.
        const diverged = [result, ...Object.values(placements)].some(
          (r) => r.ran && divergencesOf(r.summary).length > 0,
        );
        if (diverged) process.exitCode = exitCodes.divergence;
      } finally {
        await close();
      }
    });
}
