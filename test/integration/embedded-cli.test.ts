import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

// The CLI without DATABASE_URL: PGlite under .agate/ in the working directory, one process at a
// time. Needs `npm run build` first (the test command does it).

let cwd: string;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'agate-embedded-cli-'));
});
afterAll(() => rm(cwd, { recursive: true, force: true }));

describe('the embedded database in .agate/', () => {
  it('keeps data across commands and releases its lock after each', async () => {
    const created = await runCli(['tenants', 'create', 'kept', '--json'], {}, { cwd });
    expect(created.code, created.stderr).toBe(0);
    expect(existsSync(join(cwd, '.agate', 'pgdata'))).toBe(true);
    expect(existsSync(join(cwd, '.agate', 'lock'))).toBe(false);
    const again = await runCli(['migrate', '--json'], {}, { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ applied: [] });
  });

  it('refuses a second process while one holds it, naming the way out', async () => {
    await mkdir(join(cwd, '.agate'), { recursive: true });
    await writeFile(join(cwd, '.agate', 'lock'), String(process.pid));
    try {
      const refused = await runCli(['migrate'], {}, { cwd });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`open in process ${process.pid}`);
      expect(refused.stderr).toMatch(/--memory, or set DATABASE_URL/);
      expect(await readFile(join(cwd, '.agate', 'lock'), 'utf8')).toBe(String(process.pid));
    } finally {
      await rm(join(cwd, '.agate', 'lock'), { force: true });
    }
  });

  it('takes over the lock of a process that is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    await writeFile(join(cwd, '.agate', 'lock'), String(gone));
    const result = await runCli(['migrate', '--json'], {}, { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(cwd, '.agate', 'lock'))).toBe(false);
  });
});
