import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { defaultGames, playSession } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
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
    for (let i = 0; i < 4; i += 1) {
      const seed = `worker-${uuidv7()}`;
      const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
      await appendAt(
        db.pool,
        session,
        new Date(Date.now() - 86_400_000),
        playSession(seed, {}, 60, 'bot'),
      );
    }
    const events = new QueueEvents('snapshots', { connection: { url: redisUrl }, prefix });
    await events.waitUntilReady();
    try {
      let completed = 0;
      const allDone = new Promise<void>((resolve) =>
        events.on('completed', () => (completed += 1) >= 8 && resolve()),
      );
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
      expect(summary.daySnapshots.targets + summary.intervalSnapshots.targets).toBe(8);
      // The audit waited for the workers: it checked the day's 4 snapshots, not an empty table.
      expect(summary.daySnapshots).toEqual({ targets: 4, pending: 0 });
      expect(summary.audit).toMatchObject({ snapshots: 4, sessions: 4, divergences: [] });
      await allDone;
    } finally {
      await events.close();
    }
    const snapshots = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM game.snapshots',
    );
    expect(snapshots.rows[0]?.n).toBe(8);
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
