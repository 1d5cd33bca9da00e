// The whole bench in one run: appends (library, HTTP, raw), bulk import against COPY, replay
// (fold, genesis against a raw read, current state at 1k/10k/100k events) and the nightly job
// (10,000 sessions, inline and with 1 and 2 workers) and the feed (catch-up over 1M events against a
// raw keyset read, commit-to-consumer latency, the append rate with consumers) and the verdicts on
// append (warm, stale and cold against a plain append at 1k and 100k events), each next to its
// baseline measured in this run. One table on stdout and one JSON file under bench/results/ (machine, versions, date).
// Usage: npm run bench [-- --quick] [-- --only <part or append scenario,...>]
//   (AGATE_BENCH_ADMIN_URL picks the PostgreSQL server, AGATE_BENCH_REDIS_URL the Redis one)
import { loadavg } from 'node:os';
import { measureAppend } from './support/append-section.js';
import { parseBenchArgs } from './support/bench-args.js';
import type { BenchArgs } from './support/bench-args.js';
import {
  appendOptions,
  feedOptions,
  importOptions,
  nightlyOptions,
  replayOptions,
  verdictsOptions,
} from './support/bench-plan.js';
import { measureFeed } from './support/feed-section.js';
import { measureImport } from './support/import-section.js';
import { measureNightly } from './support/nightly-section.js';
import { measureReplay } from './support/replay-section.js';
import { measureVerdicts } from './support/verdicts-section.js';
import { measureReplicaReads, replicaOptions } from './support/replica-section.js';
import { machineInfo, shownUrl, writeResultsFile } from './support/results-file.js';
import { scenarios } from './support/scenarios.js';
import {
  appendSummary,
  feedSummary,
  formatSummary,
  importSummary,
  nightlySummary,
  replaySummary,
  replicaSummary,
  verdictsSummary,
} from './support/summary.js';
import type { SummaryRow } from './support/summary.js';

const parts = ['append', 'import', 'replay', 'nightly', 'feed', 'verdicts', 'replica'] as const;
type Part = (typeof parts)[number];

type PartResult = { details: unknown; summary: SummaryRow[]; problems: string[]; ms: number };

const log = (line: string): void => console.log(line);

function wanted(args: BenchArgs, part: Part): boolean {
  if (args.only.length === 0 || args.only.includes(part)) return true;
  // An append scenario id selects the append part, with only those scenarios.
  return part === 'append' && args.only.some((id) => scenarios.some((s) => s.id === id));
}

async function runPart(args: BenchArgs, part: Part): Promise<Omit<PartResult, 'ms'>> {
  switch (part) {
    case 'append': {
      const { rows, problems } = await measureAppend(appendOptions(args), log);
      return { details: rows, summary: appendSummary(rows), problems };
    }
    case 'import': {
      const { rows, problems } = await measureImport(importOptions(args), log);
      return { details: rows, summary: importSummary(rows), problems };
    }
    case 'replay': {
      const { rows, problems } = await measureReplay(replayOptions(args), log);
      return { details: rows, summary: replaySummary(rows), problems };
    }
    case 'nightly': {
      const measured = await measureNightly(nightlyOptions(args), log);
      return { details: measured, summary: nightlySummary(measured), problems: measured.problems };
    }
    case 'feed': {
      const measured = await measureFeed(feedOptions(args), log);
      return {
        details: measured,
        summary: feedSummary(measured.rows),
        problems: measured.problems,
      };
    }
    case 'verdicts': {
      const { rows, problems } = await measureVerdicts(verdictsOptions(args), log);
      return { details: rows, summary: verdictsSummary(rows), problems };
    }
    case 'replica': {
      const { rows, problems } = await measureReplicaReads(replicaOptions(args), log);
      return { details: rows, summary: replicaSummary(rows), problems };
    }
  }
}

function optionsShown(args: BenchArgs): Record<string, unknown> {
  const hide = <T extends { adminUrl: string }>(o: T) => ({ ...o, adminUrl: shownUrl(o.adminUrl) });
  const nightly = nightlyOptions(args);
  const feed = feedOptions(args);
  const append = appendOptions(args);
  return {
    quick: args.quick,
    only: args.only,
    append: { ...hide(append), redisUrl: shownUrl(append.redisUrl) },
    import: hide(importOptions(args)),
    replay: hide(replayOptions(args)),
    nightly: { ...hide(nightly), redisUrl: shownUrl(nightly.redisUrl) },
    feed: { ...hide(feed), redisUrl: shownUrl(feed.redisUrl) },
    verdicts: hide(verdictsOptions(args)),
    replica: replicaOptions(args),
  };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2), [...parts, ...scenarios.map((s) => s.id)]);
  const started = new Date();
  const loadStart = loadavg();
  log(
    `agate bench${args.quick ? ' (quick)' : ''}: ${parts.filter((p) => wanted(args, p)).join(', ')}; load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const results: Partial<Record<Part, PartResult>> = {};
  for (const part of parts.filter((p) => wanted(args, p))) {
    log(`\n${part}`);
    const t0 = performance.now();
    results[part] = { ...(await runPart(args, part)), ms: performance.now() - t0 };
  }
  const summary = parts.flatMap((p) => results[p]?.summary ?? []);
  const problems = parts.flatMap((p) => results[p]?.problems ?? []);
  const targets = summary.flatMap((r) =>
    r.targets.map((t) => ({ row: `${r.label} x${r.clients ?? '-'}`, ...t })),
  );
  log(`\n${formatSummary(summary)}\n`);
  log(
    `targets: ${targets.filter((t) => t.met).length} met, ${targets.filter((t) => !t.met).length} missed`,
  );
  const loadAverage = { start: loadStart, end: loadavg() };
  const machine = { ...(await machineInfo(args.adminUrl)), loadAverage };
  const body = {
    date: started.toISOString(),
    elapsedMs: Date.now() - started.getTime(),
    options: optionsShown(args),
    machine,
    summary,
    targets,
    parts: results,
    problems,
  };
  log(`results: ${await writeResultsFile(args.quick ? 'bench-quick' : 'bench', started, body)}`);
  if (problems.length > 0) {
    console.error(`checks: FAILED (${problems.length})\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else log('checks: ok (counts, sequences, chains and state hashes)');
}

await main();
