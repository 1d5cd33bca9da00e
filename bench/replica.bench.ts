// Replays on a streaming replica against the primary while 32 writers append (issue 19): the
// append rate alone, with analysts replaying on the primary, and with them on the replica.
// Usage: npx tsx bench/replica.bench.ts [--quick]
import { parseBenchArgs } from './support/bench-args.js';
import { measureReplicaReads, replicaOptions } from './support/replica-section.js';
import { machineInfo, writeResultsFile } from './support/results-file.js';

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), []);
  const options = replicaOptions(args);
  const started = new Date();
  console.log(
    `agate replica bench${args.quick ? ' (quick)' : ''}: ${options.writers} writers, ${options.analysts} analysts replaying from genesis, ${options.durationMs} ms per phase`,
  );
  const { rows, problems } = await measureReplicaReads(options, (line) => console.log(line));
  const primary = rows.find((r) => r.phase.endsWith('primary'));
  const replica = rows.find((r) => r.phase.endsWith('replica'));
  console.log('');
  for (const r of rows) {
    console.log(
      `${r.phase.padEnd(36)} ${Math.round(r.appendsPerSec).toString().padStart(7)} appends/s  x alone ${r.appendRatio.toFixed(2)}  ${r.replaysPerSec === null ? '' : `${r.replaysPerSec.toFixed(1)} replays/s, p50 ${r.replayP50Ms?.toFixed(1)} ms`}`,
    );
  }
  if (primary?.replaysPerSec && replica?.replaysPerSec) {
    console.log(
      `replays on the replica / on the primary: ${(replica.replaysPerSec / primary.replaysPerSec).toFixed(2)}; target: appends >= 0.9x alone with the replays on the replica (${replica.appendRatio.toFixed(2)}: ${replica.appendRatio >= 0.9 ? 'met' : 'missed'})`,
    );
  }
  const machine = await machineInfo(args.adminUrl);
  const body = { date: started.toISOString(), options, machine, rows, problems };
  console.log(`results: ${await writeResultsFile('replica', started, body)}`);
  if (problems.length > 0) {
    console.error(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('checks: ok');
}

await main();
