// What the rules' verdicts add to an append: without, warm, stale and cold, 1 and 10 events per
// batch, sessions of 1k and 100k events (5k with --quick).
// Usage: npx tsx bench/verdicts.bench.ts [--quick]   (or npm run bench:verdicts)
//   (AGATE_BENCH_ADMIN_URL picks the server)
import { parseBenchArgs } from './support/bench-args.js';
import { verdictsOptions } from './support/bench-plan.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';
import { formatVerdictsTable, measureVerdicts, warmTargetMet } from './support/verdicts-section.js';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), []);
  const options = verdictsOptions(args);
  const started = new Date();
  console.log(
    `agate verdicts bench: sessions of ${options.lengths.join(', ')} events, ${options.samples} samples per row`,
  );
  const { rows, problems } = await measureVerdicts(options, (line) => console.log(line));
  console.log(`\n${formatVerdictsTable(rows)}\n`);
  const warm = rows.filter((r) => r.mode === 'warm');
  console.log(
    `target (warm extra p50 <= 2 ms): ${warm.every(warmTargetMet) ? 'met' : 'missed'} (${warm.filter(warmTargetMet).length}/${warm.length} rows)`,
  );
  const shown = { ...options, adminUrl: shownUrl(options.adminUrl) };
  const machine = await machineInfo(args.adminUrl);
  const body = { date: started.toISOString(), options: shown, machine, rows, problems };
  console.log(`results: ${await writeResultsFile('verdicts', started, body)}`);
  if (problems.length > 0) {
    console.error(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
