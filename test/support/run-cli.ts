import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs the built `agate` binary (npm run build first), as users and scripts do. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${repoRoot}/bin/agate.js`, ...args],
      { env: { PATH: process.env.PATH, ...env }, cwd: options.cwd ?? repoRoot },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
