// Replay speed of agate: the pure fold in process, a genesis replay from PostgreSQL next to a raw
// read of the same rows (each in its own process, compiled to JavaScript as in production, for its
// peak RSS), and the current state without Redis from a snapshot plus a short tail.
// Usage: npx tsx bench/replay.bench.ts [--quick]   (`npm run bench` runs this with everything else)
import { parseBenchArgs } from './support/bench-args.js';
import { replayOptions } from './support/bench-plan.js';
import { formatReplayTable } from './support/replay-report.js';
import { measureReplay } from './support/replay-section.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), []);
  const options = replayOptions(args);
  const started = new Date();
  console.log(
    `agate replay bench${args.quick ? ' (quick)' : ''}: big session ${options.bigSession} events, tail ${options.tail}, ${options.samples} samples after ${options.warmups} warm-ups`,
  );
  const { rows, problems } = await measureReplay(options, (line) => console.log(line));
  console.log(`\n${formatReplayTable(rows)}\n`);
  const shown = { ...options, adminUrl: shownUrl(options.adminUrl) };
  const machine = await machineInfo(args.adminUrl);
  const body = { date: started.toISOString(), options: shown, machine, rows, problems };
  console.log(`results: ${await writeResultsFile('replay', started, body)}`);
  if (problems.length > 0) {
    console.error(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
