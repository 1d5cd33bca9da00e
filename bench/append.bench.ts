// Append throughput of agate (library, and HTTP through `agate serve` with and without Redis)
// next to the minimal correct append, measured in the same run; see bench/README.md.
// Usage: npm run bench:append [-- --quick] [-- --only <scenario,...>]
//   (AGATE_BENCH_ADMIN_URL picks the server, AGATE_BENCH_REDIS_URL Redis; AGATE_BENCH_CLIENTS and
//   AGATE_BENCH_WINDOW_MS override the client counts and the window for a partial run)
import { measureAppend } from './support/append-section.js';
import { parseBenchArgs } from './support/bench-args.js';
import { appendOptions } from './support/bench-plan.js';
import { formatTable } from './support/report.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';
import { scenarios } from './support/scenarios.js';

async function main(): Promise<void> {
  const args = parseBenchArgs(
    process.argv.slice(2),
    scenarios.map((s) => s.id),
  );
  const options = appendOptions(args);
  const started = new Date();
  console.log(
    `agate append bench: archive-gate traffic, ${options.durationMs} ms windows at ${options.clientCounts.join(' and ')} clients, ${options.repeats} run(s) each (median)`,
  );
  const { rows, problems } = await measureAppend(options, (line) => console.log(line));
  console.log(`\n${formatTable(rows)}\n`);
  console.log(`failed appends/calls: ${rows.reduce((sum, r) => sum + r.errors, 0)}`);
  const shown = {
    ...options,
    adminUrl: shownUrl(options.adminUrl),
    redisUrl: shownUrl(options.redisUrl),
  };
  const machine = await machineInfo(args.adminUrl);
  const body = { date: started.toISOString(), options: shown, machine, rows, problems };
  console.log(`results: ${await writeResultsFile('append', started, body)}`);
  if (problems.length > 0) {
    console.error(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
