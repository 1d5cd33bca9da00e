import type { Command } from 'commander';
import { queueDispatch, runNightly } from '../jobs/nightly/index.js';
import type { NightlyResult, NightlyStage } from '../jobs/nightly/index.js';
import { openAgate } from './open-agate.js';

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
    `  audit: ${s.audit.verified}/${s.audit.sampled} snapshots verified by replay from genesis, ${s.audit.divergences.length} divergence(s)`,
    ...s.audit.divergences.map((d) => `    ! ${d.sessionId} at ${d.sequence}: ${d.message}`),
    `  missing interval snapshots written: ${s.intervalSnapshots.targets}`,
    `  head anchors recorded: ${s.anchors.recorded}`,
    `  took ${Object.values(s.durationsMs).reduce((a, b) => a + b, 0)} ms`,
  ].join('\n');
}

export function addNightlyCommand(program: Command): void {
  program
    .command('nightly')
    .description(
      'partitions, day-boundary snapshots, a replay audit, missing snapshots, head anchors, a summary',
    )
    .option(
      '--inline',
      'write snapshots in this process, without Redis (the default when REDIS_URL is unset)',
    )
    .option('--json', 'print a JSON summary')
    .action(async (flags: { inline?: boolean; json?: boolean }) => {
      const { agate, url, redis, close } = await openAgate(process.env, { inline: flags.inline });
      try {
        const tty = process.stderr.isTTY && flags.json !== true;
        const result = await runNightly(agate, url, {
          dispatch: redis === null ? undefined : queueDispatch(agate, redis.producer),
          onProgress: tty ? progressLine : undefined,
          failpoint: process.env.AGATE_FAILPOINT,
        });
        console.log(flags.json === true ? JSON.stringify(result) : describe(result));
        if (result.ran && result.summary.audit.divergences.length > 0) process.exitCode = 3;
      } finally {
        await close();
      }
    });
}
