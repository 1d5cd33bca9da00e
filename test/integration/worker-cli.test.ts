import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { defaultGames, playSession } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { snapshotBoundaries } from '../../src/snapshots/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { appendAt } from '../support/append-at.js';
import { repoRoot, runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

const redisUrl = process.env.AGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `agate-test-${randomBytes(4).toString('hex')}`;
let db: TestDatabase;
let worker: ChildProcess;
let workerOutput = '';
const env = () => ({
  DATABASE_URL: db.url,
  REDIS_URL: redisUrl,
  AGATE_QUEUE_PREFIX: prefix,
  AGATE_NIGHTLY_CRON: '0 4 * * *',
});

beforeAll(async () => {
  db = await createTestDatabase();
  worker = spawn(process.execPath, [`${repoRoot}/bin/agate.js`, 'worker', '--concurrency', '3'], {
    env: { PATH: process.env.PATH, ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout?.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
  worker.stderr?.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    worker.stdout?.on('data', () => workerOutput.includes('SIGTERM to stop') && resolve());
    worker.on('exit', (code) => reject(new Error(`worker exited ${code}: ${workerOutput}`)));
  });
});
afterAll(async () => {
  if (worker.exitCode === null) worker.kill('SIGKILL');
  for (const name of ['snapshots', 'nightly']) {
    const queue = new Queue(name, { connection: { url: redisUrl }, prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  await db.drop();
});

async function schedulerPatterns(): Promise<(string | undefined)[]> {
  const queue = new Queue('nightly', { connection: { url: redisUrl }, prefix });
  try {
    return (await queue.getJobSchedulers()).map((s) => s.pattern);
  } finally {
    await queue.close();
  }
}

/** Starts another worker, waits until it is ready, stops it with SIGTERM; returns its output. */
async function startAndStop(workerEnv: Record<string, string>, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [`${repoRoot}/bin/agate.js`, 'worker', ...args], {
    env: { PATH: process.env.PATH, ...workerEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('SIGTERM to stop')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`worker exited ${code}: ${output}`)));
  });
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return output;
}

/** Polls a condition (not a fixed sleep) until it holds, for at most `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await pause(25);
  }
}

describe('agate worker', () => {
  it('registers the nightly schedule once, however often it starts', async () => {
    const queue = new Queue('nightly', { connection: { url: redisUrl }, prefix });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => [s.key, s.pattern, s.tz])).toEqual([
        ['nightly', '0 4 * * *', 'UTC'],
      ]);
    } finally {
      await queue.close();
    }
  });

  it('keeps the stored schedule when another worker starts with a different one, and replaces it only with --replace-schedule', async () => {
    const other = await startAndStop({ ...env(), AGATE_NIGHTLY_CRON: '15 2 * * *' }, []);
    const errors = other
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((line) => line.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/"15 2 \* \* \*".*"0 4 \* \* \*"/);
    expect(other).toContain('the nightly job (0 4 * * * UTC)');
    expect(await schedulerPatterns()).toEqual(['0 4 * * *']);
    const replacing = await startAndStop({ ...env(), AGATE_NIGHTLY_CRON: '15 2 * * *' }, [
      '--replace-schedule',
    ]);
    expect(replacing).not.toContain('"level":50');
    expect(await schedulerPatterns()).toEqual(['15 2 * * *']);
    // Put back the schedule the other tests expect of the first worker.
    await startAndStop(env(), ['--replace-schedule']);
    expect(await schedulerPatterns()).toEqual(['0 4 * * *']);
  });

  it('writes the snapshots a nightly run hands to the queue', async () => {
    const agate = createAgate({ pool: db.pool, games: defaultGames, consumers: false });
    const tenantId = (await createTenant(db.pool, { name: 'worker', actor: 'test' })).id;
    const dayTypes = defaultGames.find('archive-gate', 1)?.dayBoundaryTypes ?? [];
    // What the log calls for: agate.snapshots' boundaries, and the nightly's one at each head.
    let expected = 0;
    for (let i = 0; i < 4; i += 1) {
      const seed = `worker-${uuidv7()}`;
      const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
      const played = playSession(seed, {}, 60, 'bot');
      await appendAt(db.pool, session, new Date(Date.now() - 86_400_000), played);
      const boundaries = snapshotBoundaries(
        1,
        played.map((e) => e.type),
        dayTypes,
      );
      expected += boundaries.length + (boundaries.some((b) => b.sequence === 60) ? 0 : 1);
    }
    const events = new QueueEvents('snapshots', { connection: { url: redisUrl }, prefix });
    await events.waitUntilReady();
    const countSnapshots = async () =>
      (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM game.snapshots')).rows[0]
        ?.n ?? 0;
    try {
      let completed = 0;
      events.on('completed', () => (completed += 1));
      const run = await runCli(['nightly', '--json'], env());
      expect(run.code).toBe(0);
      const summary = (
        JSON.parse(run.stdout) as {
          summary: {
            daySnapshots: { targets: number; pending: number };
            intervalSnapshots: { targets: number };
            audit: { snapshots: number; sessions: number; divergences: unknown[] };
          };
        }
      ).summary;
      // The worker's agate.snapshots writes the interval snapshots (at 50) from the feed; the
      // nightly repairs those it has not written yet, so the two share the 4 between them.
      expect(summary.intervalSnapshots.targets).toBeLessThanOrEqual(4);
      // A session whose head already has agate.snapshots' snapshot needs no UTC day-end one; the
      // audit waited for the workers (nothing pending), so it checked snapshots, not an empty table.
      expect(summary.daySnapshots.targets).toBeLessThanOrEqual(4);
      expect(summary.daySnapshots.pending).toBe(0);
      expect(summary.audit).toMatchObject({ sessions: 4, divergences: [] });
      expect(summary.audit.snapshots).toBeGreaterThanOrEqual(4);
      const jobs = summary.daySnapshots.targets + summary.intervalSnapshots.targets;
      await waitFor('the queued snapshot jobs', () => Promise.resolve(completed >= jobs));
      await waitFor('every snapshot', async () => (await countSnapshots()) >= expected);
    } finally {
      await events.close();
    }
    expect(await countSnapshots()).toBe(expected);
  });

  it('finishes its jobs and exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) =>
      worker.on('exit', (code) => resolve(code)),
    );
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workerOutput).toMatch(/current jobs finished/);
  });
});
