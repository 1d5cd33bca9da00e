// The nightly job of agate over sessions that moved yesterday: snapshots written inline, or through
// the snapshot queue with one and two worker processes; then the current state of a session from
// the Redis hot cache next to the newest snapshot plus its tail.
// Usage: npx tsx bench/nightly.bench.ts [--quick]   (`npm run bench` runs this with everything else)
//   (AGATE_BENCH_ADMIN_URL picks the PostgreSQL server, AGATE_BENCH_REDIS_URL the Redis one)
import { loadavg } from 'node:os';
import { parseBenchArgs } from './support/bench-args.js';
import { nightlyOptions } from './support/bench-plan.js';
import { formatCurrentStateTable, formatNightlyTable } from './support/nightly-report.js';
import { measureNightly } from './support/nightly-section.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), []);
  const options = nightlyOptions(args);
  const started = new Date();
  const loadStart = loadavg();
  console.log(
    `agate nightly bench${args.quick ? ' (quick)' : ''}, load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const measured = await measureNightly(options, (line) => console.log(line));
  console.log(`\n${formatNightlyTable(measured.runs)}\n`);
  console.log(`${formatCurrentStateTable(measured.currentState.rows)}\n`);
  const shown = {
    ...options,
    adminUrl: shownUrl(options.adminUrl),
    redisUrl: shownUrl(options.redisUrl),
  };
  const machine = {
    ...(await machineInfo(args.adminUrl)),
    loadAverage: { start: loadStart, end: loadavg() },
  };
  const body = { date: started.toISOString(), options: shown, machine, ...measured };
  console.log(`results: ${await writeResultsFile('nightly', started, body)}`);
  if (measured.problems.length > 0) {
    console.error(
      `checks: FAILED (${measured.problems.length})\n  ${measured.problems.join('\n  ')}`,
    );
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
