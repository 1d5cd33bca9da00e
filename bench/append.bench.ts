// Append throughput of agate next to raw PostgreSQL baselines, measured in the same run.
// Usage: npx tsx bench/append.bench.ts [--quick] [--only <scenario,...>]
//   (AGATE_BENCH_ADMIN_URL picks the server; `npm run bench` runs this with everything else)
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
    `agate append bench: ${options.sessions} sessions, ${options.payloadChars}-char payloads, ${options.durationMs} ms per run, ${options.repeats} run(s) each (median)`,
  );
  const { rows, problems } = await measureAppend(options, (line) => console.log(line));
  console.log(`\n${formatTable(rows)}\n`);
  console.log(`failed appends/calls: ${rows.reduce((sum, r) => sum + r.errors, 0)}`);
  const shown = { ...options, adminUrl: shownUrl(options.adminUrl) };
  const machine = await machineInfo(args.adminUrl);
  const body = { date: started.toISOString(), options: shown, machine, rows, problems };
  console.log(`results: ${await writeResultsFile('append', started, body)}`);
  if (problems.length > 0) {
    console.error(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
