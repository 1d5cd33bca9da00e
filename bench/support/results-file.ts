import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, platform, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { serverVersion } from './bench-database.js';

export type MachineInfo = {
  platform: string;
  cpus: number;
  cpuModel: string;
  totalMemoryBytes: number;
  node: string;
  v8: string;
  postgres: string;
  agate: string;
  /** The checked-out commit; the working tree may hold uncommitted changes on top of it. */
  commit: string;
};

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** ISO 8601 basic format (20261123T120000Z): sortable and safe in file names. */
export function fileStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Where a server is, without how to log in (an admin URL may carry a password). */
export function shownUrl(url: string): string {
  const server = new URL(url);
  return `${server.protocol}//${server.host}${server.pathname}`;
}

async function packageVersion(): Promise<string> {
  const text = await readFile(`${repoRoot}package.json`, 'utf8');
  return z.object({ version: z.string() }).parse(JSON.parse(text)).version;
}

async function gitCommit(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: repoRoot });
    return stdout.trim();
  } catch {
    return 'unknown';
  }
}

export async function machineInfo(adminUrl: string): Promise<MachineInfo> {
  return {
    platform: `${platform()} ${release()}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemoryBytes: totalmem(),
    node: process.version,
    v8: process.versions.v8,
    postgres: await serverVersion(adminUrl),
    agate: await packageVersion(),
    commit: await gitCommit(),
  };
}

/** Writes `body` as bench/results/<prefix>-<stamp>.json and returns the file's path. */
export async function writeResultsFile(
  prefix: string,
  started: Date,
  body: Record<string, unknown>,
): Promise<string> {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}${prefix}-${fileStamp(started)}.json`;
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
