import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { adminUrl } from '../support/pg-admin.js';
import { redisUrl } from '../support/redis.js';
import { repoRoot } from '../support/run-cli.js';

type Run = { code: number; stdout: string; stderr: string };

/** `npm run bench -- --quick`, on the tests' servers; its own databases, dropped after each part. */
function quickBench(): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/all.bench.ts', '--quick'],
      {
        cwd: repoRoot,
        env: { ...process.env, AGATE_BENCH_ADMIN_URL: adminUrl, AGATE_BENCH_REDIS_URL: redisUrl },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// No time is asserted (the machine is shared); only what the bench checks after every scenario:
// gapless sequences whose counts match what was acknowledged, imported chains that verify, the
// fold's and the replays' state hashes, the nightly run's snapshots, and the feed's deliveries
// (every stored or acknowledged event delivered once, in session order).
describe('npm run bench -- --quick', () => {
  it('runs every part and passes its correctness checks', { timeout: 300_000 }, async () => {
    const r = await quickBench();
    expect(r.stderr).not.toMatch(/checks: FAILED/);
    expect(r.code, r.stderr).toBe(0);
    for (const part of [
      'append',
      'import',
      'replay',
      'nightly',
      'current',
      'feed',
      'verdicts',
      'replica',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^${part} `, 'm'));
    }
    expect(r.stdout).toMatch(/^checks: ok/m);
    expect(r.stdout).toMatch(/ 0 failed/);
    expect(r.stdout).not.toMatch(/ [1-9]\d* failed/);
  });
});
