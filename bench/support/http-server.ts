import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type HttpServer = { url: string; stop(): Promise<void> };

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const childFile = fileURLToPath(new URL('./http-server-child.ts', import.meta.url));

/** Starts the API for the bench game in a child process and resolves once it listens. */
export function startHttpServer(databaseUrl: string, poolSize: number): Promise<HttpServer> {
  // AGATE_BENCH_SERVER_PROF=<dir> writes a CPU profile of the server (node --cpu-prof).
  const profile = process.env.AGATE_BENCH_SERVER_PROF;
  const flags = profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile];
  const child = spawn(
    process.execPath,
    [...flags, '--import', 'tsx', childFile, databaseUrl, String(poolSize)],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let output = '';
    child.on('error', reject);
    void exited.then(() => reject(new Error(`the bench API server exited: ${output}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (http:\/\/\S+)/.exec(output);
      if (match?.[1] === undefined) return;
      resolve({
        url: match[1],
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}
