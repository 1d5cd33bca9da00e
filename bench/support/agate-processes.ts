// `agate serve` and `agate worker` as users run them: the built CLI (bin/agate.js), default
// settings, each in its own process, logs to a file so that they cost the bench nothing to read.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../bin/agate.js', import.meta.url));

export type AgateProcesses = {
  url: string;
  /** serve's pid, and the worker's when one runs (with Redis). */
  pids: { server: number; worker: number | null };
  stop(): Promise<void>;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

type Started = { child: ChildProcess; exited: Promise<void>; log: string };

function start(command: string, env: NodeJS.ProcessEnv, dir: string): Started {
  const log = join(dir, `${command}.log`);
  const out = openSync(log, 'a');
  // cwd without an agate.config.*: the CLI runs archive-gate alone, its default.
  // AGATE_BENCH_PROFILE=<dir>: each process writes a V8 CPU profile there when it exits (open
  // it in Chrome's DevTools or speedscope), to see where its CPU per event goes.
  const profile = process.env.AGATE_BENCH_PROFILE;
  const profiling = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const child = spawn(process.execPath, [...profiling, cli, command], {
    cwd: dir,
    env,
    stdio: ['ignore', out, out],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, exited, log };
}

async function until(started: Started, ready: () => Promise<boolean>, what: string): Promise<void> {
  let gone = false;
  void started.exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 60_000;
  while (!(await ready())) {
    if (gone || Date.now() > deadline) {
      throw new Error(`${what} did not start: ${readFileSync(started.log, 'utf8').slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts `agate serve` on `databaseUrl` (a free port on 127.0.0.1) and, with Redis, `agate
 * worker` beside it, as the README's production setup runs them: both run agate's own feed
 * consumers in one group. Without Redis the worker cannot run (it needs REDIS_URL), so serve
 * derives in process. No AGATE_RATE_LIMIT or other override: the server's defaults.
 */
export async function startAgateProcesses(
  databaseUrl: string,
  redis: { url: string; prefix: string } | null,
): Promise<AgateProcesses> {
  const dir = mkdtempSync(join(tmpdir(), 'agate-bench-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, HOST: '127.0.0.1' };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AGATE_') || name === 'REDIS_URL' || name === 'LOG_LEVEL') delete env[name];
  }
  if (redis !== null)
    Object.assign(env, { REDIS_URL: redis.url, AGATE_QUEUE_PREFIX: redis.prefix });
  const url = `http://127.0.0.1:${port}`;
  const server = start('serve', { ...env, PORT: String(port) }, dir);
  const worker = redis === null ? null : start('worker', env, dir);
  const stop = async (): Promise<void> => {
    for (const s of [server, worker]) s?.child.kill('SIGTERM');
    await Promise.all([server.exited, worker?.exited]);
  };
  try {
    await until(
      server,
      () =>
        fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      'agate serve',
    );
    if (worker !== null) {
      await until(
        worker,
        () => Promise.resolve(readFileSync(worker.log, 'utf8').includes('agate worker:')),
        'agate worker',
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    pids: { server: server.child.pid ?? 0, worker: worker?.child.pid ?? null },
    stop,
  };
}
