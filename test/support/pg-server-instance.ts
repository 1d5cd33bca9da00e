// One PostgreSQL server process of pg-servers.ts: its directory, port, pg_ctl calls, and the
// process-exit cleanup that stops whatever is still running.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

type State = 'running' | 'down' | 'removed';
export type Instance = {
  label: string;
  dir: string;
  data: string;
  log: string;
  port: number;
  state: State;
};

const binDir = process.env.AGATE_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
const runuser =
  ['/usr/sbin/runuser', '/sbin/runuser'].find((path) => existsSync(path)) ?? 'runuser';
const live = new Set<Instance>();

/** The binary and arguments, wrapped in `runuser -u postgres --` when we are root. */
function command(bin: string, args: string[]): [string, string[]] {
  const file = join(binDir, bin);
  return asRoot ? [runuser, ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

export async function logTail(instance: Instance, lines = 20): Promise<string> {
  const text = await readFile(instance.log, 'utf8').catch(() => '(no server log)');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function failure(instance: Instance, what: string, cause: unknown): Promise<Error> {
  const stderr = (cause as { stderr?: unknown }).stderr;
  const detail = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : String(cause);
  const tail = await logTail(instance);
  return new Error(
    `${instance.label}: ${what} failed: ${detail}\n--- last lines of ${instance.log} ---\n${tail}`,
    { cause },
  );
}

export async function run(
  instance: Instance,
  what: string,
  bin: string,
  args: string[],
): Promise<void> {
  const [file, argv] = command(bin, args);
  try {
    await promisify(execFile)(file, argv, { cwd: tmpdir(), timeout: 120_000 });
  } catch (error) {
    throw await failure(instance, what, error);
  }
}

/** A port nobody listens on right now (the OS picks it); start() retries if it is taken after. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port from the OS');
  return address.port;
}

/** A fresh directory for one server, owned by postgres (initdb and the server write in it). */
export async function newInstance(label: string): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), `agate-pg-${label}-`));
  const data = join(dir, 'data');
  await mkdir(data, { mode: 0o700 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
    await chown(data, uid, gid);
  }
  const instance: Instance = {
    label,
    dir,
    data,
    log: join(dir, 'server.log'),
    port: 0,
    state: 'down',
  };
  live.add(instance);
  registerExitCleanup();
  return instance;
}

async function setPort(instance: Instance): Promise<void> {
  instance.port = await freePort();
  // Later lines win in postgresql.conf, so a retry just appends a new port.
  await appendFile(join(instance.data, 'postgresql.conf'), `\nport = ${instance.port}\n`);
}

async function pgCtlStart(instance: Instance): Promise<void> {
  const args = ['-D', instance.data, '-l', instance.log, '-w', '-t', '60', 'start'];
  await run(instance, 'start', 'pg_ctl', args);
  instance.state = 'running';
}

/** First start on a new port; if another process took the port meanwhile, tries another. */
export async function startOnFreePort(instance: Instance): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await setPort(instance);
    try {
      return await pgCtlStart(instance);
    } catch (error) {
      const taken = (await logTail(instance, 10)).includes('Address already in use');
      if (!taken || attempt === 3) throw error;
    }
  }
}

export async function stopInstance(instance: Instance, mode: 'fast' | 'immediate'): Promise<void> {
  if (instance.state !== 'running') return;
  try {
    await run(instance, `stop -m ${mode}`, 'pg_ctl', [
      '-D',
      instance.data,
      '-m',
      mode,
      '-w',
      'stop',
    ]);
  } catch (error) {
    // A server that died by itself is as stopped as one we stopped.
    if (await isRunning(instance)) throw error;
  }
  instance.state = 'down';
}

/** `pg_ctl status` exits 3 when no server runs on the directory. */
async function isRunning(instance: Instance): Promise<boolean> {
  const [file, argv] = command('pg_ctl', ['-D', instance.data, 'status']);
  return promisify(execFile)(file, argv, { cwd: tmpdir() }).then(
    () => true,
    (error: { code?: unknown }) => error.code !== 3,
  );
}

export async function removeInstance(instance: Instance): Promise<void> {
  if (instance.state === 'removed') return;
  await stopInstance(instance, 'fast');
  await rm(instance.dir, { recursive: true, force: true });
  instance.state = 'removed';
  live.delete(instance);
}

export async function restart(instance: Instance): Promise<void> {
  if (instance.state === 'removed')
    throw new Error(
      `${instance.label}: start after stop(): its directory is gone; start a new server`,
    );
  if (instance.state === 'running') return;
  await pgCtlStart(instance);
}

let exitCleanupRegistered = false;

/** Synchronous, so it also runs from process 'exit'; errors are ignored (best effort). */
function stopAllNow(): void {
  for (const instance of live) {
    if (instance.state === 'running') {
      const [file, argv] = command('pg_ctl', [
        '-D',
        instance.data,
        '-m',
        'immediate',
        '-w',
        'stop',
      ]);
      try {
        execFileSync(file, argv, { cwd: tmpdir(), stdio: 'ignore', timeout: 30_000 });
      } catch {
        // The server may already be gone; the directory goes either way.
      }
    }
    rmSync(instance.dir, { recursive: true, force: true });
    instance.state = 'removed';
  }
  live.clear();
}

function registerExitCleanup(): void {
  if (exitCleanupRegistered) return;
  exitCleanupRegistered = true;
  process.on('exit', stopAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      stopAllNow();
      process.removeListener(signal, onSignal);
      // Keep the signal's usual effect unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
