import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as pause } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../support/run-cli.js';

export type Exit = { code: number | null; signal: NodeJS.Signals | null; output: string };

export type Child = {
  pid: number;
  exited: Promise<Exit>;
  output(): string;
  kill(signal: NodeJS.Signals): void;
};

const running = new Set<ChildProcess>();

/** SIGKILLs every child still running (a safety net for afterAll). */
export function killLeftoverChildren(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Registers work to run when the test ends: the test context's `onTestFinished`. */
export type OnFinished = (cleanup: () => void) => void;

/** A child process whose output is kept; SIGKILLed when the test ends if it still runs. */
function start(
  args: readonly string[],
  env: Record<string, string>,
  onFinished?: OnFinished,
): Child {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, output })),
  );
  running.add(child);
  void exited.then(() => running.delete(child));
  onFinished?.(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    pid: child.pid ?? 0,
    exited,
    output: () => output,
    kill: (signal) => child.kill(signal),
  };
}

/** The built `agate` CLI (npm run build first) as a process of its own. */
export function startCli(
  args: readonly string[],
  env: Record<string, string>,
  onFinished?: OnFinished,
): Child {
  return start([`${repoRoot}/bin/agate.js`, ...args], env, onFinished);
}

/** A TypeScript script (run with tsx) as a process of its own, with this process's environment. */
export function startScript(
  script: string,
  env: Record<string, string>,
  onFinished?: OnFinished,
): Child {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return start(['--import', 'tsx', script], { ...inherited, ...env }, onFinished);
}

const workerChild = fileURLToPath(new URL('../../support/worker-child.ts', import.meta.url));

/** test/support/worker-child.ts (a snapshot worker of the tiny game); resolves once it is ready. */
export async function startWorkerChild(
  env: {
    DATABASE_URL: string;
    REDIS_URL: string;
    AGATE_QUEUE_PREFIX: string;
    AGATE_WORKER_CONCURRENCY: string;
  },
  onFinished?: OnFinished,
): Promise<Child> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const child = start(['--import', 'tsx', workerChild], { ...inherited, ...env }, onFinished);
  let exit: Exit | undefined;
  void child.exited.then((e) => (exit = e));
  await waitFor('the worker child to be ready', () => {
    if (exit !== undefined) throw new Error(`the worker child exited: ${exit.output}`);
    return Promise.resolve(/^ready$/m.test(child.output()));
  });
  return child;
}

/** Polls a condition (not a fixed sleep) until it holds, for at most `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(20);
  }
}

/** The exit of a child, or an error naming what it printed when it takes longer than `ms`. */
export async function exitWithin(child: Child, ms: number, what: string): Promise<Exit> {
  const timeout = pause(ms).then(() => undefined);
  const exit = await Promise.race([child.exited, timeout]);
  if (exit === undefined) {
    throw new Error(`${what} did not exit within ${ms} ms; its output: ${child.output()}`);
  }
  return exit;
}
