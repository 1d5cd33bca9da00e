// Bulk import of recorded sessions next to raw COPY of the same rows, measured in the same run.
// Usage: npx tsx bench/import.bench.ts [--quick]   (`npm run bench` runs this with everything else)
import { parseBenchArgs } from './support/bench-args.js';
import { importOptions } from './support/bench-plan.js';
import { formatImportTable, measureImport } from './support/import-section.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), []);
  const options = importOptions(args);
  const started = new Date();
  console.log(
    `agate import bench${args.quick ? ' (quick)' : ''}: ${options.sessions} sessions of ${options.eventsPerSession} events, ${options.repeats} run(s) each (median)`,
  );
  const { rows, problems } = await measureImport(options, (line) => console.log(line));
  console.log(`\n${formatImportTable(rows)}\n`);
  const shown = { ...options, adminUrl: shownUrl(options.adminUrl) };
  const machine = await machineInfo(args.adminUrl);
  const body = { date: started.toISOString(), options: shown, machine, rows, problems };
  console.log(`results: ${await writeResultsFile('import', started, body)}`);
  if (problems.length > 0) {
    console.error(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
