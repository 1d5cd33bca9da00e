import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type FloorServer = { url: string; pid: number; stop(): Promise<void> };

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const childFile = fileURLToPath(new URL('./floor-server-child.ts', import.meta.url));

/** Starts the HTTP floor (floor-server-child.ts) in a process of its own; resolves once it listens. */
export function startFloorServer(
  databaseUrl: string,
  poolSize: number,
  tenantId: string,
): Promise<FloorServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', childFile, databaseUrl, String(poolSize), tenantId],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let output = '';
    child.on('error', reject);
    void exited.then(() => reject(new Error(`the HTTP floor server exited: ${output}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (http:\/\/\S+)/.exec(output);
      if (match?.[1] === undefined) return;
      resolve({
        url: match[1],
        pid: child.pid ?? 0,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}
