import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** What one worker process did, printed by snapshot-worker-child.ts when it stops. */
export const workerReportSchema = z.strictObject({
  pid: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  /** Completed jobs that inserted their snapshot (the rest found it already written). */
  created: z.number().int(),
});
export type WorkerReport = z.infer<typeof workerReportSchema>;

export type WorkerEnv = {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  concurrency: number;
};

export type WorkerChild = {
  pid: number;
  /** SIGTERM (current jobs finish), then the child's report. */
  stop(): Promise<WorkerReport>;
};

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const childFile = fileURLToPath(new URL('./snapshot-worker-child.ts', import.meta.url));
const readyWithinMs = 60_000;

function spawnWorker(env: WorkerEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', childFile], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      AGATE_QUEUE_PREFIX: env.prefix,
      AGATE_BENCH_CONCURRENCY: String(env.concurrency),
    },
    stdio: 'pipe',
  });
}

/** Starts one worker process and resolves once it printed "ready". */
function startOne(env: WorkerEnv): Promise<WorkerChild> {
  const child = spawnWorker(env);
  child.stderr.pipe(process.stderr);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker ${child.pid} was not ready within ${readyWithinMs} ms`));
    }, readyWithinMs);
    child.on('error', reject);
    void exited.then((code) => reject(new Error(`worker exited with ${code} before ready`)));
    child.stdout.on('data', (chunk: Buffer) => {
      const before = out;
      out += chunk.toString('utf8');
      if (!before.includes('ready\n') && out.includes('ready\n')) {
        clearTimeout(timer);
        resolve({ pid: child.pid ?? -1, stop });
      }
    });
  });

  async function stop(): Promise<WorkerReport> {
    child.kill('SIGTERM');
    const code = await exited;
    const last = out.trim().split('\n').at(-1) ?? '';
    if (code !== 0) throw new Error(`worker ${child.pid} exited with ${code}: ${out}`);
    return workerReportSchema.parse(JSON.parse(last));
  }
}

/** Starts `count` worker processes in parallel; if any fails to start, stops the others. */
export async function startWorkerChildren(count: number, env: WorkerEnv): Promise<WorkerChild[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startOne(env)));
  const children = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failure = started.find((s) => s.status === 'rejected');
  if (failure !== undefined) {
    await Promise.allSettled(children.map((c) => c.stop()));
    throw failure.reason;
  }
  return children;
}
