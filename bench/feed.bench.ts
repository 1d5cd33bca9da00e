// The feed of agate: catch-up over a tenant's feed (its pages and a durable consumer) next to a raw
// keyset read of the same rows, commit-to-consumer latency under 32 writers, and the append rate
// with consumers running, all in one run.
// Usage: npx tsx bench/feed.bench.ts [--quick]   (`npm run bench` runs this with everything else)
import { parseBenchArgs } from './support/bench-args.js';
import { feedOptions } from './support/bench-plan.js';
import { formatFeedTable } from './support/feed-report.js';
import { measureFeed } from './support/feed-section.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), []);
  const options = feedOptions(args);
  const started = new Date();
  console.log(`agate feed bench${args.quick ? ' (quick)' : ''}`);
  const measured = await measureFeed(options, (line) => console.log(line));
  console.log(`\n${formatFeedTable(measured.rows)}\n`);
  const shown = {
    ...options,
    adminUrl: shownUrl(options.adminUrl),
    redisUrl: shownUrl(options.redisUrl),
  };
  const machine = await machineInfo(args.adminUrl);
  const body = { date: started.toISOString(), options: shown, machine, ...measured };
  console.log(`results: ${await writeResultsFile('feed', started, body)}`);
  if (measured.problems.length > 0) {
    console.error(
      `checks: FAILED (${measured.problems.length})\n  ${measured.problems.join('\n  ')}`,
    );
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
