import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { demoRules, maxDemoSessions, runDemo } from '../demo/index.js';
import type { DemoStage, DemoSummary } from '../demo/index.js';
import { AgateError } from '../errors/index.js';
import { exitCodes } from './exit-codes.js';
import { openAgate } from './open-agate.js';
import type { Opened } from './open-agate.js';
import { embeddedDir, embeddedInMemory } from './open-database.js';

function sessionCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > maxDemoSessions) {
    throw new InvalidArgumentError(
      `--sessions must be a whole number from 1 to ${maxDemoSessions}, such as 50.`,
    );
  }
  return n;
}

function writers(value: string): number {
  if (!/^([1-9]|1[0-6])$/.test(value)) {
    throw new InvalidArgumentError('--concurrency must be a whole number from 1 to 16.');
  }
  return Number(value);
}

function seedText(value: string): string {
  if (value.length === 0 || value.length > 100) {
    throw new InvalidArgumentError('--seed must be 1 to 100 characters, such as agate.');
  }
  return value;
}

const stageNames: Record<string, string> = {
  sessions: 'playing sessions',
  snapshots: 'waiting for snapshots',
  from_snapshot: 'replaying from snapshots',
  verify: 'verifying from genesis',
  leaderboard: 'verified leaderboard',
};

function progressLine(stage: DemoStage, done: number, total: number): void {
  const width = 30;
  const filled = total === 0 ? width : Math.round((Math.min(done, total) / total) * width);
  const name = stageNames[stage] ?? stage;
  process.stderr.write(
    `\r${name.padEnd(28)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
  );
  if (done >= total) process.stderr.write('\n');
}

const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;

function nightlyLine(s: DemoSummary): string {
  const n = s.nightly;
  if (!n.ran) return n.message;
  return `clock at ${n.boundary}: ${n.daySnapshots} day-boundary snapshots, audit of ${n.audit.snapshots} snapshots and ${n.audit.sessions} chains, ${n.audit.divergences} divergences, ${n.anchors} head anchors recorded`;
}

function replaysLine(s: DemoSummary): string {
  const agree = s.replaysEqual ? 'the same state hash' : 'DIFFERENT state hashes';
  return [
    `${s.verified}/${s.sessions.length} sessions verified from genesis (${s.fromGenesis.eventsReplayed} events: chain, snapshots, anchors);`,
    `${''.padEnd(16)}from the newest snapshot (${s.fromSnapshot.sessions} sessions, ${s.fromSnapshot.eventsReplayed} tail events) and the game server's own fold: ${agree}`,
  ].join('\n');
}

function summaryLines(s: DemoSummary, where: string): string[] {
  const how = 'from the feed, by agate.snapshots in this process';
  const divergences = s.divergences.map(
    (d) => `    ! ${d.sessionId} at ${d.sequence} [${d.kind}]: ${d.message}`,
  );
  return [
    `agate demo, seed "${s.seed}": ${s.sessions.length} bot players of ${s.rules} on ${where}`,
    '',
    `  tenant        ${s.tenantId}`,
    `  sessions      ${s.sessions.length}, ${s.concurrency} concurrent writers (never two on one session), ${s.gameDays} game days`,
    `  events        ${s.events} in ${s.batches} batches; ${s.retriedBatches} batches sent twice, each retry answered with its first sequences`,
    `  throughput    ${s.eventsPerSecond} events/s appended (${seconds(s.durationsMs.sessions)}, snapshots ${how})`,
    `  snapshots     ${s.snapshots} (every 50 events, each game day's end, the nightly day boundary)`,
    `  nightly job   ${nightlyLine(s)}`,
    `  replays       ${replaysLine(s)}`,
    `  divergences   ${s.divergences.length === 0 ? 'none' : String(s.divergences.length)}`,
    ...divergences.slice(0, 10),
  ];
}

function leaderboardLines(s: DemoSummary): string[] {
  if (s.leaderboard.length === 0) return ['Leaderboard: empty (no session verified).'];
  return [
    `Leaderboard, top ${s.leaderboard.length} (each score verified by a replay from genesis):`,
    ...s.leaderboard.map(
      (e) =>
        `  ${String(e.rank).padStart(2)}. ${String(e.score).padStart(6)}  ${e.sessionId}${e.index === null ? '' : `  (session #${e.index})`}`,
    ),
  ];
}

function replayHint(s: DemoSummary, opened: Opened, memory: boolean): string[] {
  const first = s.leaderboard[0]?.sessionId ?? s.sessions[0]?.id ?? '<sessionId>';
  const command = `npx agate replay ${first} --tenant ${s.tenantId} --verify`;
  if (opened.embedded && memory) {
    return [
      'The embedded database was in memory: this data is gone once agate exits. To keep it (in',
      `${embeddedDir}/), run the demo without --memory; then replay a session yourself, for example:`,
      `  ${command}`,
    ];
  }
  const env = opened.embedded ? `(data in ${embeddedDir}/)` : '(with the same DATABASE_URL)';
  return [`Replay a session yourself ${env}:`, `  ${command}`];
}

export function describeDemo(s: DemoSummary, opened: Opened, memory: boolean): string {
  return [
    ...summaryLines(s, opened.where),
    '',
    ...leaderboardLines(s),
    '',
    ...replayHint(s, opened, memory),
    '',
    `Took ${seconds(s.durationsMs.total)}. The same seed gives the same state hashes on any machine and database: npx agate demo --seed ${s.seed} --json`,
  ].join('\n');
}

/** The demo's bots play archive-gate: a configuration without it has nothing the demo can play. */
function requireDemoGame(opened: Opened): void {
  if (opened.agate.games.eventTypes.latestRulesVersion(demoRules) !== undefined) return;
  throw new AgateError(
    'invalid_config',
    `agate demo plays ${demoRules}, which the configuration ${String(opened.games.source)} does not list; add "${demoRules}" to its games, or run the demo without a configuration (unset AGATE_CONFIG, or from a folder without agate.config.*).`,
  );
}

type DemoFlags = { seed: string; sessions: number; concurrency: number; json?: boolean };

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'bot players of archive-gate over several game days: appends with retries, snapshots, the nightly job, verified replays, the leaderboard',
    )
    .option('--seed <s>', 'everything the sessions hash to follows from this', seedText, 'agate')
    .option('--sessions <n>', 'sessions to play', sessionCount, 50)
    .option('--concurrency <n>', 'sessions written at once, one writer per session', writers, 4)
    .option('--json', 'print one JSON object: {sessions, snapshots, verified, divergences, ...}')
    .action(async (flags: DemoFlags) => {
      const opened = await openAgate(process.env, { consumers: true });
      try {
        requireDemoGame(opened);
        const tty = process.stdout.isTTY && flags.json !== true;
        const summary = await runDemo(opened.agate, {
          seed: flags.seed,
          sessions: flags.sessions,
          concurrency: flags.concurrency,
          databaseUrl: opened.url,
          redis: opened.redis,
          onProgress: tty ? progressLine : undefined,
        });
        const memory = embeddedInMemory(process.env);
        console.log(
          flags.json === true ? JSON.stringify(summary) : describeDemo(summary, opened, memory),
        );
        if (summary.divergences.length > 0) process.exitCode = exitCodes.divergence;
      } finally {
        await opened.close();
      }
    });
}
